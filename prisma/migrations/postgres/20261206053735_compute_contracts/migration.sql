-- CreateTable
CREATE TABLE "ComputeContract" (
    "contractId" TEXT NOT NULL,
    "jobId" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,

    CONSTRAINT "ComputeContract_pkey" PRIMARY KEY ("contractId")
);

-- CreateIndex
CREATE INDEX "ComputeContract_deviceId_idx" ON "ComputeContract"("deviceId");

-- CreateIndex
CREATE UNIQUE INDEX "ComputeContract_jobId_deviceId_key" ON "ComputeContract"("jobId", "deviceId");

-- AddForeignKey
ALTER TABLE "ComputeContract" ADD CONSTRAINT "ComputeContract_contractId_fkey" FOREIGN KEY ("contractId") REFERENCES "Contract"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ComputeContract" ADD CONSTRAINT "ComputeContract_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ComputeContract" ADD CONSTRAINT "ComputeContract_deviceId_fkey" FOREIGN KEY ("deviceId") REFERENCES "Device"("id") ON DELETE CASCADE ON UPDATE CASCADE;
