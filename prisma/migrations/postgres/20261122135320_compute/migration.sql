-- CreateEnum
CREATE TYPE "JobStatus" AS ENUM ('OPEN', 'COMPLETED', 'EXPIRED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "UnitStatus" AS ENUM ('PENDING', 'VALIDATED', 'FAILED');

-- CreateEnum
CREATE TYPE "ReplicaStatus" AS ENUM ('LEASED', 'SUBMITTED', 'VALID', 'INVALID');

-- AlterTable
ALTER TABLE "Device" ADD COLUMN     "invalidResults" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "validResults" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "Order" ADD COLUMN     "donation" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "jobId" TEXT;

-- CreateTable
CREATE TABLE "Job" (
    "id" TEXT NOT NULL,
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
    "deadline" TIMESTAMP(3) NOT NULL,
    "status" "JobStatus" NOT NULL DEFAULT 'OPEN',
    "result" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completedAt" TIMESTAMP(3),

    CONSTRAINT "Job_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WorkUnit" (
    "id" TEXT NOT NULL,
    "jobId" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "input" JSONB NOT NULL,
    "status" "UnitStatus" NOT NULL DEFAULT 'PENDING',
    "requiredReplicas" INTEGER NOT NULL,
    "canonicalHash" TEXT,
    "output" JSONB,
    "validatedAt" TIMESTAMP(3),

    CONSTRAINT "WorkUnit_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Replica" (
    "id" TEXT NOT NULL,
    "unitId" TEXT NOT NULL,
    "jobId" TEXT NOT NULL,
    "contractId" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "status" "ReplicaStatus" NOT NULL DEFAULT 'LEASED',
    "leasedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "outputHash" TEXT,
    "output" JSONB,
    "submittedAt" TIMESTAMP(3),

    CONSTRAINT "Replica_pkey" PRIMARY KEY ("id")
);

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

-- CreateIndex
CREATE INDEX "Order_jobId_idx" ON "Order"("jobId");

-- AddForeignKey
ALTER TABLE "Order" ADD CONSTRAINT "Order_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Job" ADD CONSTRAINT "Job_communityId_fkey" FOREIGN KEY ("communityId") REFERENCES "Community"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Job" ADD CONSTRAINT "Job_memberId_fkey" FOREIGN KEY ("memberId") REFERENCES "Member"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WorkUnit" ADD CONSTRAINT "WorkUnit_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Replica" ADD CONSTRAINT "Replica_unitId_fkey" FOREIGN KEY ("unitId") REFERENCES "WorkUnit"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Replica" ADD CONSTRAINT "Replica_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Replica" ADD CONSTRAINT "Replica_contractId_fkey" FOREIGN KEY ("contractId") REFERENCES "Contract"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Replica" ADD CONSTRAINT "Replica_deviceId_fkey" FOREIGN KEY ("deviceId") REFERENCES "Device"("id") ON DELETE CASCADE ON UPDATE CASCADE;
