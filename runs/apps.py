from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "runs"

    def ready(self) -> None:
        from django.core.signals import request_finished
        from django.db.models.signals import post_delete

        from runs.attachments import remove_file_after_commit
        from runs.db import close_request_thread_connections
        from runs.models import Attachment

        request_finished.connect(close_request_thread_connections, dispatch_uid="runs.request_thread_connections")

        # Every way an attachment's row goes (a session, a run, its owner's account deleted, by any
        # path, the admin's included) removes its file from storage.
        post_delete.connect(remove_file_after_commit, sender=Attachment, dispatch_uid="runs.attachment_file")
