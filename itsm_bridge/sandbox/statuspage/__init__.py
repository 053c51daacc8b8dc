"""The status-page imitations: Atlassian Statuspage (`api`, its validation rules in `rules`) and
Cachet (`cachet`, its field rules in `cachet_fields`)."""
