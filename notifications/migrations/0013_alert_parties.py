"""An alert's two parties copied from its referral (issue 17): the alerts already raised get
theirs from their referral, then the columns are required."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0012_receiver_link'),
        ('parcours', '0041_webhook_delivery_pathway'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='alert',
            name='receiver_organisation',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='parcours.organisation', verbose_name='organisation destinataire'),
        ),
        migrations.AddField(
            model_name='alert',
            name='sender_organisation',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='parcours.organisation', verbose_name='organisation émettrice'),
        ),
        migrations.RunSQL(
            """
            UPDATE notifications_alert SET
                sender_organisation_id = (
                    SELECT r.sender_organisation_id FROM parcours_referral r
                    WHERE r.id = notifications_alert.referral_id
                ),
                receiver_organisation_id = (
                    SELECT r.receiver_organisation_id FROM parcours_referral r
                    WHERE r.id = notifications_alert.referral_id
                )
            """,
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name='alert',
            name='receiver_organisation',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='parcours.organisation', verbose_name='organisation destinataire'),
        ),
        migrations.AlterField(
            model_name='alert',
            name='sender_organisation',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='parcours.organisation', verbose_name='organisation émettrice'),
        ),
        migrations.AddIndex(
            model_name='alert',
            index=models.Index(condition=models.Q(('state__in', ('open', 'notified', 'escalated'))), fields=['sender_organisation'], name='alert_unresolved_sender_idx'),
        ),
        migrations.AddIndex(
            model_name='alert',
            index=models.Index(condition=models.Q(('state__in', ('open', 'notified', 'escalated'))), fields=['receiver_organisation'], name='alert_unresolved_receiver_idx'),
        ),
    ]
