-- AlterTable
ALTER TABLE "ContentItem" ADD COLUMN     "recipientDeviceId" TEXT,
ADD COLUMN     "recipientId" TEXT,
ALTER COLUMN "communityId" DROP NOT NULL;

-- AlterTable
ALTER TABLE "Transfer" ALTER COLUMN "communityId" DROP NOT NULL;

-- CreateIndex
CREATE INDEX "ContentItem_recipientId_idx" ON "ContentItem"("recipientId");
