-- CreateTable
CREATE TABLE "StoragePlan" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "communityId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "sizeBytes" INTEGER NOT NULL,
    "meta" JSONB NOT NULL,
    "replicas" INTEGER NOT NULL,
    "periodMs" INTEGER NOT NULL,
    "periods" INTEGER NOT NULL,
    "windowStart" DATETIME NOT NULL,
    "windowEnd" DATETIME NOT NULL,
    "maxPrice" BIGINT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'ACTIVE',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "endedAt" DATETIME
);

-- CreateTable
CREATE TABLE "StorageShard" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "planId" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "sizeBytes" INTEGER NOT NULL,
    "sha256" TEXT NOT NULL,
    CONSTRAINT "StorageShard_planId_fkey" FOREIGN KEY ("planId") REFERENCES "StoragePlan" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "StoragePlacement" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "planId" TEXT NOT NULL,
    "shardId" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "sellerId" TEXT NOT NULL,
    "contractId" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "sourceDeviceId" TEXT NOT NULL,
    "fromPeriod" INTEGER NOT NULL,
    "toPeriod" INTEGER NOT NULL,
    "repair" TEXT NOT NULL DEFAULT 'NONE',
    "repairNote" TEXT,
    "replacesId" TEXT,
    "storedAt" DATETIME,
    "endedAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "StorageChallenge" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "planId" TEXT NOT NULL,
    "shardId" TEXT NOT NULL,
    "offset" INTEGER NOT NULL,
    "length" INTEGER NOT NULL,
    "nonce" TEXT NOT NULL,
    "expected" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'UNUSED',
    "placementId" TEXT,
    "deviceId" TEXT,
    "period" INTEGER,
    "dueAt" DATETIME,
    "closesAt" DATETIME,
    "issuedAt" DATETIME,
    "deadline" DATETIME,
    "answeredAt" DATETIME
);

-- CreateTable
CREATE TABLE "StorageReliability" (
    "deviceId" TEXT NOT NULL PRIMARY KEY,
    "passed" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "updatedAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE INDEX "StoragePlan_status_windowEnd_idx" ON "StoragePlan"("status", "windowEnd");

-- CreateIndex
CREATE INDEX "StoragePlan_memberId_createdAt_idx" ON "StoragePlan"("memberId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "StorageShard_planId_index_key" ON "StorageShard"("planId", "index");

-- CreateIndex
CREATE INDEX "StoragePlacement_repair_idx" ON "StoragePlacement"("repair");

-- CreateIndex
CREATE INDEX "StoragePlacement_deviceId_status_idx" ON "StoragePlacement"("deviceId", "status");

-- CreateIndex
CREATE INDEX "StoragePlacement_shardId_status_idx" ON "StoragePlacement"("shardId", "status");

-- CreateIndex
CREATE INDEX "StoragePlacement_contractId_idx" ON "StoragePlacement"("contractId");

-- CreateIndex
CREATE INDEX "StoragePlacement_planId_idx" ON "StoragePlacement"("planId");

-- CreateIndex
CREATE INDEX "StorageChallenge_shardId_status_idx" ON "StorageChallenge"("shardId", "status");

-- CreateIndex
CREATE INDEX "StorageChallenge_placementId_idx" ON "StorageChallenge"("placementId");

-- CreateIndex
CREATE INDEX "StorageChallenge_status_dueAt_idx" ON "StorageChallenge"("status", "dueAt");

-- CreateIndex
CREATE INDEX "StorageChallenge_status_deadline_idx" ON "StorageChallenge"("status", "deadline");

-- CreateIndex
CREATE INDEX "StorageChallenge_deviceId_status_idx" ON "StorageChallenge"("deviceId", "status");
