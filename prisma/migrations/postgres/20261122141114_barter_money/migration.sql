-- CreateEnum
CREATE TYPE "BarterStatus" AS ENUM ('OPEN', 'PROPOSED', 'CLOSED', 'CANCELLED');

-- AlterEnum
ALTER TYPE "AccountKind" ADD VALUE 'FEDERATION_CLEARING';

-- DropIndex
DROP INDEX "Account_communityId_kind_memberId_key";

-- AlterTable
ALTER TABLE "Community" ADD COLUMN     "sweepstakesShareBps" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "Device" ADD COLUMN     "keyAlgorithm" TEXT,
ADD COLUMN     "publicKey" TEXT;

-- AlterTable
ALTER TABLE "Account" ADD COLUMN     "peerCommunityId" TEXT;

-- CreateTable
CREATE TABLE "BarterOffer" (
    "id" TEXT NOT NULL,
    "communityId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "fromPool" BOOLEAN NOT NULL DEFAULT false,
    "give" JSONB NOT NULL,
    "want" JSONB NOT NULL,
    "giveValue" BIGINT NOT NULL,
    "wantValue" BIGINT NOT NULL,
    "toleranceBps" INTEGER NOT NULL,
    "topUpAllowed" BOOLEAN NOT NULL DEFAULT false,
    "topUpMax" BIGINT NOT NULL DEFAULT 0,
    "auto" BOOLEAN NOT NULL DEFAULT true,
    "seq" INTEGER NOT NULL,
    "status" "BarterStatus" NOT NULL DEFAULT 'OPEN',
    "dealId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "BarterOffer_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BarterDeal" (
    "id" TEXT NOT NULL,
    "communityId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "plan" JSONB NOT NULL,
    "acceptedBy" JSONB NOT NULL,
    "status" "BarterStatus" NOT NULL DEFAULT 'PROPOSED',
    "totalValue" BIGINT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "closedAt" TIMESTAMP(3),

    CONSTRAINT "BarterDeal_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BarterReceipt" (
    "id" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "communityId" TEXT NOT NULL,
    "receipt" JSONB NOT NULL,
    "dealId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "BarterReceipt_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SweepstakesTicket" (
    "id" TEXT NOT NULL,
    "communityId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "reference" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SweepstakesTicket_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SweepstakesDraw" (
    "id" TEXT NOT NULL,
    "communityId" TEXT NOT NULL,
    "commitment" TEXT NOT NULL,
    "periodStart" TIMESTAMP(3) NOT NULL,
    "periodEnd" TIMESTAMP(3) NOT NULL,
    "secret" TEXT,
    "ticketsHash" TEXT,
    "ticketCount" INTEGER NOT NULL DEFAULT 0,
    "winnerId" TEXT,
    "winningTicketId" TEXT,
    "prize" BIGINT NOT NULL DEFAULT 0,
    "revealedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SweepstakesDraw_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CommunityLink" (
    "id" TEXT NOT NULL,
    "fromId" TEXT NOT NULL,
    "toId" TEXT NOT NULL,
    "proposedBy" TEXT NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "acceptedAt" TIMESTAMP(3),

    CONSTRAINT "CommunityLink_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "BarterOffer_communityId_status_idx" ON "BarterOffer"("communityId", "status");

-- CreateIndex
CREATE INDEX "BarterOffer_memberId_status_idx" ON "BarterOffer"("memberId", "status");

-- CreateIndex
CREATE INDEX "BarterDeal_communityId_status_idx" ON "BarterDeal"("communityId", "status");

-- CreateIndex
CREATE UNIQUE INDEX "BarterReceipt_hash_key" ON "BarterReceipt"("hash");

-- CreateIndex
CREATE INDEX "SweepstakesTicket_communityId_createdAt_idx" ON "SweepstakesTicket"("communityId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "SweepstakesTicket_source_reference_key" ON "SweepstakesTicket"("source", "reference");

-- CreateIndex
CREATE INDEX "SweepstakesDraw_communityId_periodEnd_idx" ON "SweepstakesDraw"("communityId", "periodEnd");

-- CreateIndex
CREATE INDEX "CommunityLink_toId_idx" ON "CommunityLink"("toId");

-- CreateIndex
CREATE UNIQUE INDEX "CommunityLink_fromId_toId_key" ON "CommunityLink"("fromId", "toId");

-- CreateIndex
CREATE UNIQUE INDEX "Account_communityId_kind_memberId_peerCommunityId_key" ON "Account"("communityId", "kind", "memberId", "peerCommunityId");
