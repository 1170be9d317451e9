-- AlterTable
ALTER TABLE "Contract" ADD COLUMN     "sellerCommunityId" TEXT;
