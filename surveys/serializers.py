"""Input and output shapes of the survey API."""

from rest_framework import serializers

from .models import Response, Survey, SurveyVersion

LANGUAGE_CHOICES = [("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")]


class SurveyOutput(serializers.ModelSerializer):
    current_version = serializers.SerializerMethodField()

    class Meta:
        model = Survey
        fields = ["slug", "title", "description", "current_version", "created_at"]

    def get_current_version(self, survey: Survey) -> int | None:
        version = survey.current_version()
        return version.number if version else None


class VersionOutput(serializers.ModelSerializer):
    class Meta:
        model = SurveyVersion
        fields = [
            "number",
            "label",
            "title",
            "status",
            "languages",
            "default_language",
            "content_hash",
            "created_at",
            "published_at",
        ]


class ProblemOutput(serializers.Serializer):
    sheet = serializers.CharField()
    row = serializers.IntegerField(allow_null=True)
    column = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class FieldSummaryOutput(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    list_name = serializers.CharField(allow_null=True)
    required = serializers.BooleanField()
    groups = serializers.ListField(child=serializers.CharField())


class VersionDetailOutput(VersionOutput):
    content = serializers.JSONField()
    fields = FieldSummaryOutput(many=True, source="instrument.summary")
    import_notes = ProblemOutput(many=True)

    class Meta(VersionOutput.Meta):
        fields = [*VersionOutput.Meta.fields, "content", "fields", "import_notes"]


class ImportInput(serializers.Serializer):
    file = serializers.FileField(help_text="An XLSForm: .xlsx, .xls, .csv or .md")
    survey = serializers.SlugField(required=False, help_text="Survey slug; the form's form_id when omitted.")
    programme = serializers.SlugField(
        required=False,
        help_text="Slug of the programme a new survey belongs to; needed when you administer several.",
    )
    publish = serializers.BooleanField(default=False)


class ImportOutput(serializers.Serializer):
    ok = serializers.BooleanField()
    errors = ProblemOutput(many=True)
    notes = ProblemOutput(many=True)
    survey = serializers.CharField(allow_null=True)
    version = VersionOutput(allow_null=True)
    publish_notes = serializers.ListField(child=serializers.CharField(), allow_null=True)


class PublishOutput(serializers.Serializer):
    version = VersionOutput()
    changes = serializers.ListField(child=serializers.CharField())


class ResponseInput(serializers.Serializer):
    instance_id = serializers.UUIDField(help_text="Made by the client, once per response; resending it is safe.")
    version = serializers.IntegerField(min_value=1, help_text="The version number the respondent answered.")
    status = serializers.ChoiceField(choices=Response.Status.choices, default=Response.Status.COMPLETE)
    answers = serializers.DictField(allow_empty=True)  # checked against the version, not here
    language = serializers.ChoiceField(
        choices=LANGUAGE_CHOICES, required=False, help_text="Language of the answers and of error messages."
    )
    wave = serializers.SlugField(required=False)


class ResponseUpdateInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=Response.Status.choices)
    answers = serializers.DictField(allow_empty=True)
    language = serializers.ChoiceField(choices=LANGUAGE_CHOICES, required=False)


class ResponseOutput(serializers.ModelSerializer):
    survey = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    wave = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    answers = serializers.JSONField()

    class Meta:
        model = Response
        fields = [
            "instance_id",
            "survey",
            "version",
            "wave",
            "status",
            "answers",
            "language",
            "content_hash",
            "created_at",
            "updated_at",
            "submitted_at",
        ]


def response_output(response: Response) -> dict:
    """ResponseOutput's shape, built directly: the submission hot path skips DRF's
    per-field machinery (about a millisecond a response). The schema documents
    ResponseOutput, and the API tests check that both agree."""
    return {
        "instance_id": str(response.instance_id),
        "survey": response.survey.slug,
        "version": response.version.number,
        "wave": response.wave.slug if response.wave_id else None,
        "status": response.status,
        "answers": response.answers,
        "language": response.language,
        "content_hash": response.content_hash,
        "created_at": _iso(response.created_at),
        "updated_at": _iso(response.updated_at),
        "submitted_at": _iso(response.submitted_at),
    }


def _iso(value) -> str | None:
    return serializers.DateTimeField().to_representation(value) if value else None
