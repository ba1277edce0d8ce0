"""Chat platforms' webhooks: Zalo OA follows and Messenger referrals (issue 21)."""
