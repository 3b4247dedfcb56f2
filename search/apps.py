from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = "Search"

    def ready(self):
        from . import kinds, text

        kinds.register_all()
        text.install_sqlite_fold()
