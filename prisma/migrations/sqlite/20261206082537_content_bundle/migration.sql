-- CreateTable
CREATE TABLE "ContentBundle" (
    "itemId" TEXT NOT NULL PRIMARY KEY,
    "entries" JSONB NOT NULL,
    "fileCount" INTEGER NOT NULL,
    "textCount" INTEGER NOT NULL,
    CONSTRAINT "ContentBundle_itemId_fkey" FOREIGN KEY ("itemId") REFERENCES "ContentItem" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
