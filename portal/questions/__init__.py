"""Each town's FAQ (« Foire aux questions ») and the questions persons ask a town, answered by its
agents (guide 000, « Besoin d'aide ? »)."""
