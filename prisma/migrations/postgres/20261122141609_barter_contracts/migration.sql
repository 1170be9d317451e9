-- AlterTable
ALTER TABLE "Contract" ADD COLUMN     "barterDealId" TEXT,
ALTER COLUMN "buyOrderId" DROP NOT NULL,
ALTER COLUMN "sellOrderId" DROP NOT NULL;
