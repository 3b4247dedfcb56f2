from django.apps import AppConfig


class RollupsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "rollups"
    verbose_name = "Rollups"

    def ready(self):
        # Engagement stats and list totals read the tallies instead of counting rows, wherever
        # they can answer (engagements cannot import rollups, which reads engagements).
        from engagements.stats import use_fast_counts
        from utilities.sqlbulk import churned_by_loads

        from .counts import engagement_count, engagement_count_statement
        from .models import CityEngagementTally, EngagementCount, EngagementPairTally, EngagementTally
        from .stats import count_from_tallies

        use_fast_counts(counts=count_from_tallies, total=engagement_count, total_statement=engagement_count_statement)
        churned_by_loads(EngagementCount, EngagementTally, CityEngagementTally, EngagementPairTally)
