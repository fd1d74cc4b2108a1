# The hook and webhook models moved to the webhooks app (webhooks/migrations/0001_initial.py).
# State only: their tables stay as they are and the webhooks app's models keep using them.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('ops', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='WebhookDelivery'),
                migrations.DeleteModel(name='Webhook'),
                migrations.DeleteModel(name='HookCall'),
                migrations.DeleteModel(name='RunNotice'),
            ],
            database_operations=[],
        ),
    ]
