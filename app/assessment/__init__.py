"""Assessment service: findings -> clinical state, scores, variant matches and order ratings."""
