-- CreateTable
CREATE TABLE "JobPlacement" (
    "jobId" TEXT NOT NULL PRIMARY KEY,
    "codeItemId" TEXT,
    "codeSha256" TEXT,
    "dataItemId" TEXT,
    "dataSha256" TEXT,
    "keepFile" BOOLEAN NOT NULL DEFAULT true,
    "toDeviceId" TEXT,
    "resultsUrl" TEXT,
    "secret" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "JobOnlyItem" (
    "itemId" TEXT NOT NULL PRIMARY KEY,
    "memberId" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "JobSourceReport" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "jobId" TEXT NOT NULL,
    "itemId" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "ResultDelivery" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "jobId" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'PENDING',
    "bodySha256" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "claimedUntil" DATETIME,
    "deliveredAt" DATETIME,
    "lastError" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "ResultDeliveryAttempt" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "deliveryId" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ok" BOOLEAN NOT NULL,
    "httpStatus" INTEGER,
    "error" TEXT,
    "ms" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "ResultDeliveryAttempt_deliveryId_fkey" FOREIGN KEY ("deliveryId") REFERENCES "ResultDelivery" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "JobPlacement_codeItemId_idx" ON "JobPlacement"("codeItemId");

-- CreateIndex
CREATE INDEX "JobPlacement_dataItemId_idx" ON "JobPlacement"("dataItemId");

-- CreateIndex
CREATE UNIQUE INDEX "JobSourceReport_jobId_deviceId_itemId_key" ON "JobSourceReport"("jobId", "deviceId", "itemId");

-- CreateIndex
CREATE UNIQUE INDEX "ResultDelivery_jobId_key" ON "ResultDelivery"("jobId");

-- CreateIndex
CREATE INDEX "ResultDelivery_status_nextAttemptAt_idx" ON "ResultDelivery"("status", "nextAttemptAt");

-- CreateIndex
CREATE UNIQUE INDEX "ResultDeliveryAttempt_deliveryId_attempt_key" ON "ResultDeliveryAttempt"("deliveryId", "attempt");
