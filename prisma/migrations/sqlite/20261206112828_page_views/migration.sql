-- CreateTable
CREATE TABLE "PageViewSite" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "memberId" TEXT NOT NULL,
    "origin" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "ratePerMinute" INTEGER NOT NULL DEFAULT 30,
    "verifiedAt" DATETIME,
    "lastError" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "PageViewRate" (
    "origin" TEXT NOT NULL PRIMARY KEY,
    "windowStart" DATETIME NOT NULL,
    "count" INTEGER NOT NULL
);

-- CreateTable
CREATE TABLE "PageViewCampaign" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "communityId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "siteId" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "orderId" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,
    "networks" TEXT NOT NULL DEFAULT '',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "PageView" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "campaignId" TEXT NOT NULL,
    "contractId" TEXT NOT NULL,
    "sellerId" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'LEASED',
    "network" TEXT NOT NULL,
    "region" TEXT NOT NULL,
    "claimedAt" DATETIME NOT NULL,
    "leaseEndsAt" DATETIME NOT NULL,
    "reportedAt" DATETIME,
    "durationMs" INTEGER,
    "ttfbMs" INTEGER,
    "error" TEXT
);

-- CreateIndex
CREATE UNIQUE INDEX "PageViewSite_token_key" ON "PageViewSite"("token");

-- CreateIndex
CREATE UNIQUE INDEX "PageViewSite_memberId_origin_key" ON "PageViewSite"("memberId", "origin");

-- CreateIndex
CREATE UNIQUE INDEX "PageViewCampaign_orderId_key" ON "PageViewCampaign"("orderId");

-- CreateIndex
CREATE INDEX "PageViewCampaign_communityId_idx" ON "PageViewCampaign"("communityId");

-- CreateIndex
CREATE INDEX "PageViewCampaign_memberId_idx" ON "PageViewCampaign"("memberId");

-- CreateIndex
CREATE UNIQUE INDEX "PageView_contractId_key" ON "PageView"("contractId");

-- CreateIndex
CREATE UNIQUE INDEX "PageView_token_key" ON "PageView"("token");

-- CreateIndex
CREATE INDEX "PageView_campaignId_state_idx" ON "PageView"("campaignId", "state");

-- CreateIndex
CREATE INDEX "PageView_state_leaseEndsAt_idx" ON "PageView"("state", "leaseEndsAt");

-- CreateIndex
CREATE INDEX "PageView_sellerId_idx" ON "PageView"("sellerId");
