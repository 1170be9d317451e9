-- CreateTable
CREATE TABLE "ResultsToDevice" (
    "jobId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "sizeBytes" INTEGER NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'PENDING',
    "senderDeviceId" TEXT,
    "itemId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "offeredAt" TIMESTAMP(3),
    "deliveredAt" TIMESTAMP(3),

    CONSTRAINT "ResultsToDevice_pkey" PRIMARY KEY ("jobId")
);

-- CreateTable
CREATE TABLE "DonorComputeSell" (
    "orderId" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,

    CONSTRAINT "DonorComputeSell_pkey" PRIMARY KEY ("orderId")
);

-- CreateIndex
CREATE UNIQUE INDEX "ResultsToDevice_itemId_key" ON "ResultsToDevice"("itemId");

-- CreateIndex
CREATE INDEX "ResultsToDevice_memberId_status_idx" ON "ResultsToDevice"("memberId", "status");

-- CreateIndex
CREATE INDEX "ResultsToDevice_deviceId_status_idx" ON "ResultsToDevice"("deviceId", "status");

-- CreateIndex
CREATE INDEX "DonorComputeSell_deviceId_idx" ON "DonorComputeSell"("deviceId");
