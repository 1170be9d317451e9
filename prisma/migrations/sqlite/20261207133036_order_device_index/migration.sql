-- CreateIndex
CREATE INDEX "Order_deviceId_status_idx" ON "Order"("deviceId", "status");
