-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_ContentItem" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "communityId" TEXT,
    "memberId" TEXT NOT NULL,
    "recipientId" TEXT,
    "recipientDeviceId" TEXT,
    "deviceId" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "audience" TEXT NOT NULL DEFAULT '',
    "purpose" TEXT NOT NULL DEFAULT '',
    "environment" TEXT NOT NULL DEFAULT '',
    "mediaType" TEXT NOT NULL,
    "sizeBytes" BIGINT NOT NULL,
    "sha256" TEXT NOT NULL,
    "chunkSize" INTEGER NOT NULL,
    "chunkHashes" JSONB NOT NULL,
    "searchText" TEXT NOT NULL,
    "pricing" TEXT NOT NULL DEFAULT 'GIFT',
    "price" BIGINT NOT NULL DEFAULT 0,
    "withdrawn" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "ContentItem_communityId_fkey" FOREIGN KEY ("communityId") REFERENCES "Community" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "ContentItem_deviceId_fkey" FOREIGN KEY ("deviceId") REFERENCES "Device" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_ContentItem" ("audience", "chunkHashes", "chunkSize", "communityId", "createdAt", "description", "deviceId", "environment", "id", "mediaType", "memberId", "price", "pricing", "purpose", "searchText", "sha256", "sizeBytes", "title", "withdrawn") SELECT "audience", "chunkHashes", "chunkSize", "communityId", "createdAt", "description", "deviceId", "environment", "id", "mediaType", "memberId", "price", "pricing", "purpose", "searchText", "sha256", "sizeBytes", "title", "withdrawn" FROM "ContentItem";
DROP TABLE "ContentItem";
ALTER TABLE "new_ContentItem" RENAME TO "ContentItem";
CREATE INDEX "ContentItem_communityId_withdrawn_idx" ON "ContentItem"("communityId", "withdrawn");
CREATE INDEX "ContentItem_deviceId_idx" ON "ContentItem"("deviceId");
CREATE INDEX "ContentItem_recipientId_idx" ON "ContentItem"("recipientId");
CREATE TABLE "new_Transfer" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "itemId" TEXT NOT NULL,
    "communityId" TEXT,
    "senderDeviceId" TEXT NOT NULL,
    "receiverDeviceId" TEXT NOT NULL,
    "senderId" TEXT NOT NULL,
    "receiverId" TEXT NOT NULL,
    "contractId" TEXT,
    "status" TEXT NOT NULL DEFAULT 'REQUESTED',
    "verifiedChunks" INTEGER NOT NULL DEFAULT 0,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "completedAt" DATETIME,
    CONSTRAINT "Transfer_itemId_fkey" FOREIGN KEY ("itemId") REFERENCES "ContentItem" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Transfer" ("communityId", "completedAt", "contractId", "createdAt", "id", "itemId", "receiverDeviceId", "receiverId", "senderDeviceId", "senderId", "status", "updatedAt", "verifiedChunks") SELECT "communityId", "completedAt", "contractId", "createdAt", "id", "itemId", "receiverDeviceId", "receiverId", "senderDeviceId", "senderId", "status", "updatedAt", "verifiedChunks" FROM "Transfer";
DROP TABLE "Transfer";
ALTER TABLE "new_Transfer" RENAME TO "Transfer";
CREATE INDEX "Transfer_senderDeviceId_status_idx" ON "Transfer"("senderDeviceId", "status");
CREATE INDEX "Transfer_receiverDeviceId_status_idx" ON "Transfer"("receiverDeviceId", "status");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
