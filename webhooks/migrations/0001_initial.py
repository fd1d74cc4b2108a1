# The hook and webhook models, moved here from the ops app. State only: the tables ops created
# (ops_runnotice, ops_hookcall, ops_webhook, ops_webhookdelivery) keep their names and rows, on a
# fresh database (ops/migrations/0001 creates them) and on an existing one alike. The content types
# move too, so permissions granted on these models and the admin's history stay attached to them.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MOVED = ('runnotice', 'hookcall', 'webhook', 'webhookdelivery')


def move_content_types(apps, schema_editor, source='ops', target='webhooks'):
    ContentType = apps.get_model('contenttypes', 'ContentType')
    for model in MOVED:
        if not ContentType.objects.filter(app_label=target, model=model).exists():
            ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source='webhooks', target='ops')


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('agents_app', '0001_initial'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('ops', '0002_move_webhooks_out'),
        ('runs', '0002_run_queued_at'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='HookCall',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('hook', models.CharField(help_text='Dotted path of the hook function.', max_length=300)),
                        ('status', models.CharField(choices=[('ok', 'Ok'), ('failed', 'Failed')], max_length=10)),
                        ('error', models.TextField(blank=True, default='')),
                        ('traceback', models.TextField(blank=True, default='')),
                        ('duration_ms', models.FloatField(default=0)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='hook_calls', to='runs.run')),
                    ],
                    options={
                        'db_table': 'ops_hookcall',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='RunNotice',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('run', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='runs.run')),
                    ],
                    options={
                        'db_table': 'ops_runnotice',
                    },
                ),
                migrations.CreateModel(
                    name='Webhook',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('url', models.URLField(max_length=2000)),
                        ('secret', models.CharField(max_length=200)),
                        ('active', models.BooleanField(default=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webhooks', to=settings.AUTH_USER_MODEL)),
                        ('team', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webhooks', to='agents_app.team')),
                    ],
                    options={
                        'db_table': 'ops_webhook',
                        'ordering': ['-created_at', '-id'],
                        'indexes': [models.Index(fields=['team', 'owner', 'active'], name='ops_webhook_team_id_4a9c81_idx')],
                    },
                ),
                migrations.CreateModel(
                    name='WebhookDelivery',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('delivery_id', models.CharField(db_index=True, max_length=64)),
                        ('attempt', models.PositiveIntegerField()),
                        ('success', models.BooleanField(default=False)),
                        ('status_code', models.PositiveIntegerField(blank=True, null=True)),
                        ('response_excerpt', models.TextField(blank=True, default='')),
                        ('error', models.TextField(blank=True, default='')),
                        ('duration_ms', models.FloatField(default=0)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webhook_deliveries', to='runs.run')),
                        ('webhook', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='webhooks.webhook')),
                    ],
                    options={
                        'db_table': 'ops_webhookdelivery',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
