-- CreateTable
CREATE TABLE "Job" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "communityId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "kernel" TEXT NOT NULL,
    "params" JSONB NOT NULL,
    "unitCount" INTEGER NOT NULL,
    "replication" INTEGER NOT NULL,
    "quorum" INTEGER NOT NULL,
    "maxReplicas" INTEGER NOT NULL,
    "pricePerUnit" BIGINT NOT NULL,
    "deadline" DATETIME NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'OPEN',
    "result" JSONB,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completedAt" DATETIME,
    CONSTRAINT "Job_communityId_fkey" FOREIGN KEY ("communityId") REFERENCES "Community" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Job_memberId_fkey" FOREIGN KEY ("memberId") REFERENCES "Member" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "WorkUnit" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "jobId" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "input" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'PENDING',
    "requiredReplicas" INTEGER NOT NULL,
    "canonicalHash" TEXT,
    "output" JSONB,
    "validatedAt" DATETIME,
    CONSTRAINT "WorkUnit_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Replica" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "unitId" TEXT NOT NULL,
    "jobId" TEXT NOT NULL,
    "contractId" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'LEASED',
    "leasedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" DATETIME NOT NULL,
    "outputHash" TEXT,
    "output" JSONB,
    "submittedAt" DATETIME,
    CONSTRAINT "Replica_unitId_fkey" FOREIGN KEY ("unitId") REFERENCES "WorkUnit" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Replica_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Replica_contractId_fkey" FOREIGN KEY ("contractId") REFERENCES "Contract" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Replica_deviceId_fkey" FOREIGN KEY ("deviceId") REFERENCES "Device" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Device" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "memberId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "profile" JSONB NOT NULL,
    "valuation" JSONB NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "validResults" INTEGER NOT NULL DEFAULT 0,
    "invalidResults" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "Device_memberId_fkey" FOREIGN KEY ("memberId") REFERENCES "Member" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Device" ("createdAt", "id", "memberId", "name", "profile", "updatedAt", "valuation") SELECT "createdAt", "id", "memberId", "name", "profile", "updatedAt", "valuation" FROM "Device";
DROP TABLE "Device";
ALTER TABLE "new_Device" RENAME TO "Device";
CREATE INDEX "Device_memberId_idx" ON "Device"("memberId");
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
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Order_communityId_fkey" FOREIGN KEY ("communityId") REFERENCES "Community" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Order_memberId_fkey" FOREIGN KEY ("memberId") REFERENCES "Member" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Order_deviceId_fkey" FOREIGN KEY ("deviceId") REFERENCES "Device" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "Order_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
INSERT INTO "new_Order" ("category", "communityId", "constraints", "createdAt", "deviceId", "expiresAt", "id", "kind", "locked", "memberId", "negotiationLimit", "negotiationMode", "price", "quantity", "remaining", "reserved", "seq", "side", "status", "unit", "updatedAt", "windowEnd", "windowStart") SELECT "category", "communityId", "constraints", "createdAt", "deviceId", "expiresAt", "id", "kind", "locked", "memberId", "negotiationLimit", "negotiationMode", "price", "quantity", "remaining", "reserved", "seq", "side", "status", "unit", "updatedAt", "windowEnd", "windowStart" FROM "Order";
DROP TABLE "Order";
ALTER TABLE "new_Order" RENAME TO "Order";
CREATE INDEX "Order_communityId_category_side_status_idx" ON "Order"("communityId", "category", "side", "status");
CREATE INDEX "Order_jobId_idx" ON "Order"("jobId");
CREATE INDEX "Order_memberId_status_idx" ON "Order"("memberId", "status");
CREATE UNIQUE INDEX "Order_communityId_category_seq_key" ON "Order"("communityId", "category", "seq");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "Job_communityId_status_idx" ON "Job"("communityId", "status");

-- CreateIndex
CREATE INDEX "Job_memberId_idx" ON "Job"("memberId");

-- CreateIndex
CREATE INDEX "WorkUnit_jobId_status_idx" ON "WorkUnit"("jobId", "status");

-- CreateIndex
CREATE UNIQUE INDEX "WorkUnit_jobId_index_key" ON "WorkUnit"("jobId", "index");

-- CreateIndex
CREATE INDEX "Replica_jobId_status_idx" ON "Replica"("jobId", "status");

-- CreateIndex
CREATE INDEX "Replica_contractId_idx" ON "Replica"("contractId");

-- CreateIndex
CREATE INDEX "Replica_deviceId_status_idx" ON "Replica"("deviceId", "status");

-- CreateIndex
CREATE UNIQUE INDEX "Replica_unitId_deviceId_key" ON "Replica"("unitId", "deviceId");
