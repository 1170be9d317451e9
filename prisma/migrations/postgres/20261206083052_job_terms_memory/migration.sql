-- CreateTable
CREATE TABLE "JobTerms" (
    "jobId" TEXT NOT NULL,
    "workingSetMb" INTEGER NOT NULL DEFAULT 0,
    "memoryPrice" BIGINT NOT NULL DEFAULT 0,
    "memoryOrderId" TEXT,
    "fundingContractId" TEXT,
    "fundingSellerId" TEXT,
    "fundingUnit" TEXT,

    CONSTRAINT "JobTerms_pkey" PRIMARY KEY ("jobId")
);

-- CreateTable
CREATE TABLE "MemoryOffer" (
    "orderId" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "memoryMb" INTEGER NOT NULL,

    CONSTRAINT "MemoryOffer_pkey" PRIMARY KEY ("orderId")
);

-- CreateIndex
CREATE UNIQUE INDEX "JobTerms_memoryOrderId_key" ON "JobTerms"("memoryOrderId");

-- CreateIndex
CREATE UNIQUE INDEX "JobTerms_fundingContractId_key" ON "JobTerms"("fundingContractId");

-- CreateIndex
CREATE INDEX "MemoryOffer_deviceId_idx" ON "MemoryOffer"("deviceId");

-- AddForeignKey
ALTER TABLE "JobTerms" ADD CONSTRAINT "JobTerms_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MemoryOffer" ADD CONSTRAINT "MemoryOffer_orderId_fkey" FOREIGN KEY ("orderId") REFERENCES "Order"("id") ON DELETE CASCADE ON UPDATE CASCADE;
