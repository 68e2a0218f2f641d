"""One index on a grant's pathway, not two (issue 17): the foreign key's own index was the same
as `pathway_grant_object_idx`. Only the duplicate index is dropped: altering the field the
usual way would drop and re-add the foreign key, validating it over every grant row."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("parcours", "0029_person_name_order_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="pathwaygroupobjectpermission",
                    name="content_object",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        to="parcours.pathway",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS parcours_pathwaygroupobjec_content_object_id_dcd83f13",
                    migrations.RunSQL.noop,
                ),
            ],
        ),
    ]
