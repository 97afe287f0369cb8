"""Accounts made before profiles were created for every user (e.g. by createsuperuser)
get one now, so `user.profile` always exists."""

from django.db import migrations


def create_missing_profiles(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    Profile = apps.get_model("profiles", "Profile")
    Profile.objects.bulk_create(
        [Profile(user=user) for user in User.objects.filter(profile__isnull=True)]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("profiles", "0002_profile_channels_profile_hot_environment_and_more"),
        ("accounts", "0002_therapists_group"),
    ]

    operations = [migrations.RunPython(create_missing_profiles, migrations.RunPython.noop)]
