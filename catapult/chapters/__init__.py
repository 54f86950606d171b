"""What each chapter measures and claims: the measurement functions its cells call and the list
of its claims, so that a chapter's cells stay short and its logic is tested."""

__all__ = []
