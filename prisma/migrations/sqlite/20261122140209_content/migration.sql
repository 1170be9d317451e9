-- CreateTable
CREATE TABLE "ContentItem" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "communityId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
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

-- CreateTable
CREATE TABLE "Transfer" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "itemId" TEXT NOT NULL,
    "communityId" TEXT NOT NULL,
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

-- CreateTable
CREATE TABLE "SignalEvent" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "toDeviceId" TEXT NOT NULL,
    "fromDeviceId" TEXT NOT NULL,
    "fromMemberId" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "Presence" (
    "deviceId" TEXT NOT NULL PRIMARY KEY,
    "memberId" TEXT NOT NULL,
    "publicAddress" TEXT NOT NULL,
    "lastSeen" DATETIME NOT NULL,
    CONSTRAINT "Presence_deviceId_fkey" FOREIGN KEY ("deviceId") REFERENCES "Device" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "DevicePairing" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "code" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "pairedId" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Order" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "communityId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "deviceId" TEXT,
    "side" TEXT NOT NULL,
    "category" TEXT NOT NULL,
    "unit" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'OPEN',
    "quantity" INTEGER NOT NULL,
    "remaining" INTEGER NOT NULL,
    "locked" INTEGER NOT NULL DEFAULT 0,
    "price" BIGINT NOT NULL,
    "windowStart" DATETIME NOT NULL,
    "windowEnd" DATETIME NOT NULL,
    "expiresAt" DATETIME,
    "seq" INTEGER NOT NULL,
    "constraints" JSONB NOT NULL,
    "negotiationMode" TEXT NOT NULL DEFAULT 'NONE',
    "negotiationLimit" BIGINT,
    "reserved" BIGINT NOT NULL DEFAULT 0,
    "jobId" TEXT,
    "donation" BOOLEAN NOT NULL DEFAULT false,
    "contentItemId" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Order_communityId_fkey" FOREIGN KEY ("communityId") REFERENCES "Community" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Order_memberId_fkey" FOREIGN KEY ("memberId") REFERENCES "Member" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Order_deviceId_fkey" FOREIGN KEY ("deviceId") REFERENCES "Device" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "Order_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "Order_contentItemId_fkey" FOREIGN KEY ("contentItemId") REFERENCES "ContentItem" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
INSERT INTO "new_Order" ("category", "communityId", "constraints", "createdAt", "deviceId", "donation", "expiresAt", "id", "jobId", "kind", "locked", "memberId", "negotiationLimit", "negotiationMode", "price", "quantity", "remaining", "reserved", "seq", "side", "status", "unit", "updatedAt", "windowEnd", "windowStart") SELECT "category", "communityId", "constraints", "createdAt", "deviceId", "donation", "expiresAt", "id", "jobId", "kind", "locked", "memberId", "negotiationLimit", "negotiationMode", "price", "quantity", "remaining", "reserved", "seq", "side", "status", "unit", "updatedAt", "windowEnd", "windowStart" FROM "Order";
DROP TABLE "Order";
ALTER TABLE "new_Order" RENAME TO "Order";
CREATE INDEX "Order_communityId_category_side_status_idx" ON "Order"("communityId", "category", "side", "status");
CREATE INDEX "Order_jobId_idx" ON "Order"("jobId");
CREATE INDEX "Order_memberId_status_idx" ON "Order"("memberId", "status");
CREATE UNIQUE INDEX "Order_communityId_category_seq_key" ON "Order"("communityId", "category", "seq");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "ContentItem_communityId_withdrawn_idx" ON "ContentItem"("communityId", "withdrawn");

-- CreateIndex
CREATE INDEX "ContentItem_deviceId_idx" ON "ContentItem"("deviceId");

-- CreateIndex
CREATE INDEX "Transfer_senderDeviceId_status_idx" ON "Transfer"("senderDeviceId", "status");

-- CreateIndex
CREATE INDEX "Transfer_receiverDeviceId_status_idx" ON "Transfer"("receiverDeviceId", "status");

-- CreateIndex
CREATE INDEX "SignalEvent_toDeviceId_id_idx" ON "SignalEvent"("toDeviceId", "id");

-- CreateIndex
CREATE INDEX "Presence_lastSeen_idx" ON "Presence"("lastSeen");

-- CreateIndex
CREATE INDEX "DevicePairing_code_idx" ON "DevicePairing"("code");

-- CreateIndex
CREATE INDEX "DevicePairing_deviceId_idx" ON "DevicePairing"("deviceId");

-- CreateIndex
CREATE INDEX "DevicePairing_pairedId_idx" ON "DevicePairing"("pairedId");
