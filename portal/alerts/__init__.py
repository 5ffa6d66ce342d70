"""Alerts (« Mes alertes »): every e-mail that tells a person something also leaves an alert, and
each person chooses which kinds of e-mail they want (the alerts are always kept)."""
