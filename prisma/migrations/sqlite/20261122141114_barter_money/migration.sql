-- DropIndex
DROP INDEX "Account_communityId_kind_memberId_key";

-- AlterTable
ALTER TABLE "Device" ADD COLUMN "keyAlgorithm" TEXT;
ALTER TABLE "Device" ADD COLUMN "publicKey" TEXT;

-- AlterTable
ALTER TABLE "Account" ADD COLUMN "peerCommunityId" TEXT;

-- CreateTable
CREATE TABLE "BarterOffer" (
    "id" TEXT NOT NULL PRIMARY KEY,
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
    "status" TEXT NOT NULL DEFAULT 'OPEN',
    "dealId" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "BarterDeal" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "communityId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "plan" JSONB NOT NULL,
    "acceptedBy" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'PROPOSED',
    "totalValue" BIGINT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "closedAt" DATETIME
);

-- CreateTable
CREATE TABLE "BarterReceipt" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "hash" TEXT NOT NULL,
    "communityId" TEXT NOT NULL,
    "receipt" JSONB NOT NULL,
    "dealId" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "SweepstakesTicket" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "communityId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "reference" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "SweepstakesDraw" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "communityId" TEXT NOT NULL,
    "commitment" TEXT NOT NULL,
    "periodStart" DATETIME NOT NULL,
    "periodEnd" DATETIME NOT NULL,
    "secret" TEXT,
    "ticketsHash" TEXT,
    "ticketCount" INTEGER NOT NULL DEFAULT 0,
    "winnerId" TEXT,
    "winningTicketId" TEXT,
    "prize" BIGINT NOT NULL DEFAULT 0,
    "revealedAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "CommunityLink" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "fromId" TEXT NOT NULL,
    "toId" TEXT NOT NULL,
    "proposedBy" TEXT NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "acceptedAt" DATETIME
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Community" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "slug" TEXT NOT NULL,
    "searchText" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "commissionBps" INTEGER NOT NULL,
    "startingGrant" BIGINT NOT NULL,
    "creditLimit" BIGINT NOT NULL DEFAULT 0,
    "inviteOnly" BOOLEAN NOT NULL DEFAULT false,
    "inviteCode" TEXT NOT NULL,
    "valuationRates" JSONB,
    "sweepstakesShareBps" INTEGER NOT NULL DEFAULT 0,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO "new_Community" ("commissionBps", "createdAt", "creditLimit", "description", "id", "inviteCode", "inviteOnly", "name", "searchText", "slug", "startingGrant", "valuationRates") SELECT "commissionBps", "createdAt", "creditLimit", "description", "id", "inviteCode", "inviteOnly", "name", "searchText", "slug", "startingGrant", "valuationRates" FROM "Community";
DROP TABLE "Community";
ALTER TABLE "new_Community" RENAME TO "Community";
CREATE UNIQUE INDEX "Community_slug_key" ON "Community"("slug");
CREATE INDEX "Community_searchText_idx" ON "Community"("searchText");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

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
