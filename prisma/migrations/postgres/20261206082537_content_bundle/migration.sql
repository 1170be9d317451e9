-- CreateTable
CREATE TABLE "ContentBundle" (
    "itemId" TEXT NOT NULL,
    "entries" JSONB NOT NULL,
    "fileCount" INTEGER NOT NULL,
    "textCount" INTEGER NOT NULL,

    CONSTRAINT "ContentBundle_pkey" PRIMARY KEY ("itemId")
);

-- AddForeignKey
ALTER TABLE "ContentBundle" ADD CONSTRAINT "ContentBundle_itemId_fkey" FOREIGN KEY ("itemId") REFERENCES "ContentItem"("id") ON DELETE CASCADE ON UPDATE CASCADE;
