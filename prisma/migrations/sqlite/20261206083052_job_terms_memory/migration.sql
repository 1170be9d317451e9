-- CreateTable
CREATE TABLE "JobTerms" (
    "jobId" TEXT NOT NULL PRIMARY KEY,
    "workingSetMb" INTEGER NOT NULL DEFAULT 0,
    "memoryPrice" BIGINT NOT NULL DEFAULT 0,
    "memoryOrderId" TEXT,
    "fundingContractId" TEXT,
    "fundingSellerId" TEXT,
    "fundingUnit" TEXT,
    CONSTRAINT "JobTerms_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "MemoryOffer" (
    "orderId" TEXT NOT NULL PRIMARY KEY,
    "deviceId" TEXT NOT NULL,
    "memoryMb" INTEGER NOT NULL,
    CONSTRAINT "MemoryOffer_orderId_fkey" FOREIGN KEY ("orderId") REFERENCES "Order" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "JobTerms_memoryOrderId_key" ON "JobTerms"("memoryOrderId");

-- CreateIndex
CREATE UNIQUE INDEX "JobTerms_fundingContractId_key" ON "JobTerms"("fundingContractId");

-- CreateIndex
CREATE INDEX "MemoryOffer_deviceId_idx" ON "MemoryOffer"("deviceId");
