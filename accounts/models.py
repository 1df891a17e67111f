from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    RESPONDENT = "respondent", _("Respondent")
    PROGRAMME_ADMIN = "programme_admin", _("Programme administrator")
    INSTITUTION_STAFF = "institution_staff", _("Institution staff")
    RESEARCHER = "researcher", _("Researcher")


class User(AbstractUser):
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.RESPONDENT)
    preferred_language = models.CharField(
        max_length=8, choices=[("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")], default="kk"
    )

    @property
    def can_design_surveys(self) -> bool:
        return self.is_superuser or self.role == Role.PROGRAMME_ADMIN
