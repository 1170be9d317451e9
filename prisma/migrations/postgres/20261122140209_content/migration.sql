-- CreateEnum
CREATE TYPE "ContentPricing" AS ENUM ('GIFT', 'CREDITS');

-- CreateEnum
CREATE TYPE "TransferStatus" AS ENUM ('REQUESTED', 'ACTIVE', 'COMPLETED', 'FAILED', 'CANCELLED');

-- AlterTable
ALTER TABLE "Order" ADD COLUMN     "contentItemId" TEXT;

-- CreateTable
CREATE TABLE "ContentItem" (
    "id" TEXT NOT NULL,
    "communityId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "audience" TEXT NOT NULL DEFAULT '',
    "purpose" TEXT NOT NULL DEFAULT '',
    "environment" TEXT NOT NULL DEFAULT '',
    "mediaType" TEXT NOT NULL,
    "sizeBytes" BIGINT NOT NULL,
    "sha256" TEXT NOT NULL,
    "chunkSize" INTEGER NOT NULL,
    "chunkHashes" JSONB NOT NULL,
    "searchText" TEXT NOT NULL,
    "pricing" "ContentPricing" NOT NULL DEFAULT 'GIFT',
    "price" BIGINT NOT NULL DEFAULT 0,
    "withdrawn" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ContentItem_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Transfer" (
    "id" TEXT NOT NULL,
    "itemId" TEXT NOT NULL,
    "communityId" TEXT NOT NULL,
    "senderDeviceId" TEXT NOT NULL,
    "receiverDeviceId" TEXT NOT NULL,
    "senderId" TEXT NOT NULL,
    "receiverId" TEXT NOT NULL,
    "contractId" TEXT,
    "status" "TransferStatus" NOT NULL DEFAULT 'REQUESTED',
    "verifiedChunks" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "completedAt" TIMESTAMP(3),

    CONSTRAINT "Transfer_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SignalEvent" (
    "id" SERIAL NOT NULL,
    "toDeviceId" TEXT NOT NULL,
    "fromDeviceId" TEXT NOT NULL,
    "fromMemberId" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SignalEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Presence" (
    "deviceId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "publicAddress" TEXT NOT NULL,
    "lastSeen" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Presence_pkey" PRIMARY KEY ("deviceId")
);

-- CreateTable
CREATE TABLE "DevicePairing" (
    "id" TEXT NOT NULL,
    "code" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "pairedId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DevicePairing_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ContentItem_communityId_withdrawn_idx" ON "ContentItem"("communityId", "withdrawn");

-- CreateIndex
CREATE INDEX "ContentItem_deviceId_idx" ON "ContentItem"("deviceId");

-- CreateIndex
CREATE INDEX "Transfer_senderDeviceId_status_idx" ON "Transfer"("senderDeviceId", "status");

-- CreateIndex
CREATE INDEX "Transfer_receiverDeviceId_status_idx" ON "Transfer"("receiverDeviceId", "status");

-- CreateIndex
CREATE INDEX "SignalEvent_toDeviceId_id_idx" ON "SignalEvent"("toDeviceId", "id");

-- CreateIndex
CREATE INDEX "Presence_lastSeen_idx" ON "Presence"("lastSeen");

-- CreateIndex
CREATE INDEX "DevicePairing_code_idx" ON "DevicePairing"("code");

-- CreateIndex
CREATE INDEX "DevicePairing_deviceId_idx" ON "DevicePairing"("deviceId");

-- CreateIndex
CREATE INDEX "DevicePairing_pairedId_idx" ON "DevicePairing"("pairedId");

-- AddForeignKey
ALTER TABLE "Order" ADD CONSTRAINT "Order_contentItemId_fkey" FOREIGN KEY ("contentItemId") REFERENCES "ContentItem"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ContentItem" ADD CONSTRAINT "ContentItem_communityId_fkey" FOREIGN KEY ("communityId") REFERENCES "Community"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ContentItem" ADD CONSTRAINT "ContentItem_deviceId_fkey" FOREIGN KEY ("deviceId") REFERENCES "Device"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Transfer" ADD CONSTRAINT "Transfer_itemId_fkey" FOREIGN KEY ("itemId") REFERENCES "ContentItem"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Presence" ADD CONSTRAINT "Presence_deviceId_fkey" FOREIGN KEY ("deviceId") REFERENCES "Device"("id") ON DELETE CASCADE ON UPDATE CASCADE;
