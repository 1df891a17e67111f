"""Stored script payloads render inert on every page that shows them, under the enforced policy.

Sixty payloads (the usual filter-evasion shapes: script tags, event handlers, javascript: and
data: links, broken-out attributes, SVG, template syntax) are stored where people type text:
a survey's title, question labels and choice labels, a wave's name and an answer; registry display names, bios
and tags; request titles and topics; message subjects and bodies; and as the names of uploaded
files (imported XLSForms, obligation imports, episode documents, panel imports, official
statistics imports: the admin's lists and pages too). The pages that show them
are then opened in Chromium. Each payload, if it ran, would set `window.__xss` or open a
dialog; none may, no element may carry an injected handler, and the Content-Security-Policy
must report nothing (tests/browser/conftest.py fails the test on any violation).
"""

import uuid

import pytest

from accounts.models import Role
from diaspora.models import Consent, Institution
from diaspora.services.messages import message_send
from diaspora.services.registry import OfferInput, ProfileInput, person_register
from diaspora.services.requests import RequestInput, institution_create, request_create
from surveys.models import Wave
from surveys.services.responses import response_submit
from surveys.services.versions import survey_import_xlsform
from tests.factories import UserFactory, xlsform

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery staple"
RUN = "window.__xss=1"

PAYLOADS = [
    f"<script>{RUN}</script>",
    f"<SCRIPT>{RUN}</SCRIPT>",
    f"<script src=data:text/javascript,{RUN}></script>",
    f'<img src=x onerror="{RUN}">',
    f"<img src=x onerror={RUN}>",
    f"<IMG SRC=javascript:{RUN}>",
    f"<img src=`x` onerror=`{RUN}`>",
    f'<svg onload="{RUN}">',
    f"<svg><script>{RUN}</script></svg>",
    f"<svg><animate onbegin={RUN} attributeName=x dur=1s>",
    f'<body onload="{RUN}">',
    f'<iframe src="javascript:{RUN}"></iframe>',
    f'<iframe srcdoc="<script>parent.{RUN}</script>"></iframe>',
    f'<a href="javascript:{RUN}">link</a>',
    f'<a href="JaVaScRiPt:{RUN}">link</a>',
    f'<a href="&#106;avascript:{RUN}">link</a>',
    f'<a href="data:text/html,<script>{RUN}</script>">link</a>',
    f'"><script>{RUN}</script>',
    f"'><script>{RUN}</script>",
    f'" onmouseover="{RUN}" x="',
    f"' onfocus='{RUN}' autofocus x='",
    f'"><img src=x onerror={RUN}>',
    f"</textarea><script>{RUN}</script>",
    f"</title><script>{RUN}</script>",
    f"</style><script>{RUN}</script>",
    f"<input autofocus onfocus={RUN}>",
    f"<details open ontoggle={RUN}>",
    f"<video><source onerror={RUN}></video>",
    f"<audio src=x onerror={RUN}>",
    f"<object data=javascript:{RUN}></object>",
    f"<embed src=javascript:{RUN}>",
    f'<math><mtext><img src=x onerror="{RUN}"></mtext></math>',
    f'<div style="background:url(javascript:{RUN})">x</div>',
    f'<span style="color:red" onclick="{RUN}">red</span>',
    f"<marquee onstart={RUN}>x</marquee>",
    f'<form action="javascript:{RUN}"><button>go</button></form>',
    f"<base href=javascript:{RUN}//>",
    f'<meta http-equiv="refresh" content="0;url=javascript:{RUN}">',
    f'<link rel=stylesheet href="javascript:{RUN}">',
    f"<table background=javascript:{RUN}>",
    f"<scr<script>ipt>{RUN}</scr</script>ipt>",
    f"<<script>{RUN};//<</script>",
    f"<script>/*</script>*/{RUN}</script>",
    f"%3Cscript%3E{RUN}%3C/script%3E",
    f"&lt;script&gt;{RUN}&lt;/script&gt;",
    f"\\u003cscript\\u003e{RUN}\\u003c/script\\u003e",
    f"{{{{constructor.constructor('{RUN}')()}}}}",
    "{{ 7*7 }} {% debug %} ${7*7}",
    f"[click](javascript:{RUN})",
    f"[click](JAVASCRIPT:{RUN})",
    f"![img](x onerror={RUN})",
    f'<span style="color: red; background-image: url(javascript:{RUN})">styled</span>',
    f'<b onmouseover="{RUN}">bold</b>',
    f"<u><i onclick={RUN}>underlined</i></u>",
    f'<noscript><p title="</noscript><img src=x onerror={RUN}>">',
    f'<svg><a xlink:href="javascript:{RUN}"><text x="20" y="20">x</text></a></svg>',
    f"<x contenteditable onblur={RUN}>lose focus</x>",
    f'<isindex type=image src=1 onerror="{RUN}">',
    f"javascript:{RUN}",
    f'=HYPERLINK("javascript:{RUN}")',
]


def _sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click('form[action="/accounts/login/"] button.primary')
    page.wait_for_load_state("networkidle")


def _assert_inert(page, where: str) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(150)  # onload/onerror handlers of images and SVG have fired by now
    assert page.evaluate("window.__xss") is None, f"a payload ran on {where}"
    injected = page.evaluate(
        """() => Array.from(document.querySelectorAll('body *')).filter(e =>
            Array.from(e.attributes).some(a => /^on/i.test(a.name) ||
              (/^(href|src|action|data|formaction|xlink:href)$/i.test(a.name) && /^\\s*(javascript|data):/i.test(a.value)))
        ).map(e => e.outerHTML.slice(0, 200))"""
    )
    assert injected == [], f"injected markup on {where}: {injected}"


@pytest.fixture
def stored(live_server):
    """Every payload in every kind of text, and the people who look at them."""
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    staff = UserFactory(username="staff", role=Role.INSTITUTION_STAFF)
    # XLSForm gives "${" a meaning (a reference) and refuses a malformed one, a cell starting with "="
    # is a spreadsheet formula: those stay out of the form
    in_form = [p for p in PAYLOADS if "${" not in p and not p.startswith("=")]  # "=": a formula in .xlsx
    survey_rows = [{"type": "note", "name": f"n{i}", "label": p} for i, p in enumerate(in_form)]
    survey_rows.append({"type": "select_one payloads", "name": "pick", "label": PAYLOADS[0]})
    survey_rows.append({"type": "text", "name": "free", "label": "Anything else?"})
    choices = [{"list_name": "payloads", "name": f"c{i}", "label": p} for i, p in enumerate(in_form)]
    imported = survey_import_xlsform(
        data=xlsform(survey_rows, choices, {"form_id": "payloads", "form_title": PAYLOADS[1]}),
        filename=f"{PAYLOADS[3][:40]}.xlsx",
        publish=True,
    )
    assert imported.version is not None, imported.report.errors
    institution = institution_create(name="Payload University", kind="university", region="KZ-55", staff=[staff])
    people = []
    for i in range(0, len(PAYLOADS), 6):
        member = UserFactory(username=f"member-{i}")
        data = ProfileInput(
            display_name=PAYLOADS[i][:120],
            bio=" ".join(PAYLOADS[i + 1 : i + 6]),
            field_of_study="053",
            skills=["hydrology"],
            tags=[PAYLOADS[i + 2][:40]],
            languages=["kk"],
            country="DEU",
            offers=[OfferInput(mode="co_supervision", capacity=2, unit="engagements", remote=True, onsite=False)],
            visibility={"profile": "public", "expertise": "public", "contact": "institutions"},
        )
        people.append(person_register(user=member, data=data, consents=[c.value for c in Consent.Purpose]))
    requests = [
        request_create(
            user=staff,
            data=RequestInput(
                institution_id=institution.pk,
                title=PAYLOADS[i][:200],
                topic=" ".join(PAYLOADS[i : i + 10]) + " river basin hydrology",
                mode="co_supervision",
                skills=["hydrology"],
                languages=[],
                field_of_study="053",
            ),
        )
        for i in range(0, len(PAYLOADS), 10)
    ]
    for i, person in enumerate(people):
        message_send(sender=staff, person=person, subject=PAYLOADS[i][:200], body="\n".join(PAYLOADS[i::7]))
    assert Institution.objects.count() == 1
    # an answer: every payload typed into the form's free-text question, read on the staff pages
    wave = Wave.objects.create(
        survey=imported.version.survey,
        version=imported.version,
        slug="payload-wave",
        name=PAYLOADS[5][:200],
        is_public=True,
    )
    response, _created = response_submit(
        version=imported.version, respondent=UserFactory(username="respondent"), instance_id=uuid.uuid4(),
        status="complete", answers={"pick": "c1", "free": "\n".join(PAYLOADS)}, language=None, wave=wave,
    )  # fmt: skip
    return {
        "superuser": superuser, "staff": staff, "people": people, "requests": requests,
        "version": imported.version, "wave": wave, "response": response,
    }  # fmt: skip


def test_every_stored_payload_renders_inert(browser, live_server, stored):
    assert len(PAYLOADS) >= 50
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    _sign_in(page, live_server, "root")
    version = stored["version"]
    for path in (
        f"/staff/surveys/{version.survey.slug}/versions/{version.number}/preview/",
        "/staff/",
        f"/staff/waves/{stored['wave'].slug}/",
        f"/staff/waves/{stored['wave'].slug}/responses/{stored['response'].pk}/",
        "/registry/",
        *(f"/registry/people/{p.pk}/" for p in stored["people"]),
        *(f"/registry/requests/{r.pk}/" for r in stored["requests"]),
    ):
        page.goto(f"{live_server.url}{path}")
        _assert_inert(page, path)
    assert stored["requests"][-1].title in page.inner_text("body")  # shown as the text it is (the last page)
    page.goto(f"{live_server.url}/staff/waves/{stored['wave'].slug}/responses/{stored['response'].pk}/")
    assert PAYLOADS[3] in page.inner_text("body")  # the answer, as text

    page.context.clear_cookies()
    _sign_in(page, live_server, "staff")
    for path in (
        "/registry/requests/",
        *(f"/registry/requests/{r.pk}/" for r in stored["requests"]),
        *(f"/registry/requests/{r.pk}/top/" for r in stored["requests"]),
        "/registry/messages/",
    ):
        page.goto(f"{live_server.url}{path}")
        _assert_inert(page, path)

    page.context.clear_cookies()
    _sign_in(page, live_server, stored["people"][0].user.username)
    page.goto(f"{live_server.url}/registry/messages/")
    _assert_inert(page, "the member's inbox")
    page.click("#main a[href*='/registry/messages/']")
    _assert_inert(page, "a message")
    assert dialogs == []
    context.close()


# --------------------------------------------------------------------------- uploaded file names

OFFICIAL_HEADER = (
    "indicator_code,indicator_name,ref_area,counterpart_area,flow,time_period,sex,age,education,specialty,scope,"
    "obs_value,unit_measure,unit_mult,obs_status,source_org,source_type,source,comment\n"
)


def _official_file(n: int) -> bytes:
    """A one-row SDMX-CSV file, different for each payload (the same content twice is refused)."""
    row = f"EMIG_PERM,Departures,KAZ,_T,OUT,{1900 + n},_T,_T,_T,_T,_T,{1000 + n},PS,0,A,BNS,secondary_press,test,\n"
    return (OFFICIAL_HEADER + row).encode()


@pytest.fixture
def stored_file_names(live_server, settings, tmp_path):
    """Every payload as the name of an uploaded file, wherever one is kept and shown: imported
    XLSForms, obligation imports (participants and episodes), episode documents, panel imports
    and official statistics imports."""
    import datetime as dt

    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.models import Programme
    from analytics.official.services import official_import
    from diaspora.models import Episode, ObligationRule
    from diaspora.services.obligation_imports import episodes_import, participants_import
    from diaspora.services.obligations import episode_record
    from surveys.models import Panel
    from surveys.services.panels import panel_import

    settings.MEDIA_ROOT = tmp_path / "media"
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    bolashak = Programme.objects.create(slug="bolashak", name="Bolashak")
    ObligationRule.objects.create(programme=bolashak, version=1, name="rule", adopted_on=dt.date(2015, 1, 1),
                                  cohorts_from=2010, months_required=60, window_months=96, countries=["KAZ"])  # fmt: skip
    panel = Panel.objects.create(slug="alumni", name="Alumni", programme=bolashak)
    versions = []
    for n, payload in enumerate(PAYLOADS):
        participants = participants_import(
            programme=bolashak, user=root, filename=f"{payload}.csv",
            data=f"external_id,full_name,email,cohort,graduation_date\nP-{n},Scholar {n},,2019,2023-06-30\n".encode(),
        )  # fmt: skip
        assert participants.errors == 0, participants.report
        panel_import(panel=panel, user=root, filename=f"{payload}.csv", data=f"email\np{n}@example.org\n".encode())
        result = official_import(content=_official_file(n), file_name=f"{payload}.csv", uploaded_by=root)
        assert result.ok, result.report["issues"]
    episodes_import(programme=bolashak, user=root, filename=f"{PAYLOADS[0]}.csv",
                    data=b"external_id,kind,start,end,country,region,employer,specialty_related,source\n"
                         b"P-0,employment,2023-09-01,,KAZ,KZ-71,Employer,yes,administrative\n")  # fmt: skip
    scholar = bolashak.participations.get(external_id="P-1")
    episode_record(scholar, {"kind": "employment", "start": dt.date(2024, 2, 1), "country": "KAZ"},
                   source=Episode.Source.PARTICIPANT, user=root,
                   document=SimpleUploadedFile(f"{PAYLOADS[3]}.pdf", b"%PDF-1.4\n", "application/pdf"))  # fmt: skip
    for n in (0, 3, 17):  # the XLSForm's own file name, kept on its version
        imported = survey_import_xlsform(
            data=xlsform([{"type": "text", "name": "q", "label": "Q"}], [], {"form_id": f"f{n}", "form_title": "F"}),
            filename=f"{PAYLOADS[n]}.xlsx", survey_slug=f"named-{n}", publish=True,
        )  # fmt: skip
        assert imported.version is not None, imported.report.errors
        versions.append(imported.version)
    return {"scholar": scholar, "versions": versions}


def test_every_uploaded_file_name_renders_inert(browser, live_server, stored_file_names):
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _sign_in(page, live_server, "root")
    latest_import = stored_file_names["scholar"].programme.obligation_imports.order_by("pk").last()
    shown = {  # each page, and a file name it shows
        "/registry/returns/?programme=bolashak": f"{PAYLOADS[0]}.csv",  # the latest imports, with their reports
        "/admin/diaspora/obligationimport/": f"{PAYLOADS[17]}.csv",
        f"/admin/diaspora/obligationimport/{latest_import.pk}/change/": f"{PAYLOADS[0]}.csv",
        f"/registry/returns/participants/{stored_file_names['scholar'].pk}/": None,  # the episode's document
        "/admin/surveys/panelimport/": f"{PAYLOADS[17]}.csv",
        "/analytics/official/data/": f"{PAYLOADS[-1]}.csv",
        "/admin/analytics/officialimport/": f"{PAYLOADS[17]}.csv",
        **{f"/admin/surveys/surveyversion/{v.pk}/change/": f"{PAYLOADS[n]}.xlsx"
           for n, v in zip((0, 3, 17), stored_file_names["versions"], strict=True)},
    }  # fmt: skip
    for path, name in shown.items():
        page.goto(f"{live_server.url}{path}")
        _assert_inert(page, path)
        # shown as the text it is (in a closed <details> too, hence textContent)
        assert name is None or name in page.evaluate("document.body.textContent"), (path, name)
    assert dialogs == []
    context.close()
