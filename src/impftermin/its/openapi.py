"""An OpenAPI 3.0 description of the 2021 protocol as this server speaks it (views.py), served
at /its/openapi.json: for the authors of community tools, and so that schemathesis can
check the server against it (tests/its/test_its_schemathesis.py). Written by hand — the
protocol is fixed, its shapes are 2021's — and kept next to the views it describes."""

from __future__ import annotations

from typing import Any

JSON = "application/json"


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


STRING = {"type": "string"}
STRINGS = {"type": "array", "items": STRING}
PLZ = {"type": "string", "pattern": "^[0-9]{5}$", "example": "48143"}
ERRORS = _object(
    {"errors": {"type": "array", "items": _object({"code": STRING, "text": STRING})}},
    ["errors"],
)
PIN_LIMIT = _object({"error": STRING}, ["error"])  # a number's PINs for the day are used up


def _answer(description: str, schema: dict | None = None, headers: dict | None = None) -> dict:
    answer: dict[str, Any] = {"description": description}
    if schema is not None:
        answer["content"] = {JSON: {"schema": schema}}
    if headers:
        answer["headers"] = headers
    return answer


RETRY_AFTER = {
    "Retry-After": {"required": True, "schema": {"type": "integer"}, "description": "seconds"}
}
COMMON = {
    "404": _answer("no such centre group", ERRORS),
    "429": _answer("this client's limit is reached", ERRORS, RETRY_AFTER),
    "503": _answer("the service is briefly unavailable", ERRORS, RETRY_AFTER),
}
WITH_CODE = {
    "401": _answer(
        "no booking code, an unknown one, or one of another centre group",
        ERRORS,
        {"WWW-Authenticate": {"required": True, "schema": STRING}},
    )
}
TOO_LARGE = {"413": _answer("the body is larger than 16 KiB", ERRORS)}


def _query(name: str, schema: dict, *, required: bool, description: str = "") -> dict:
    parameter = {"name": name, "in": "query", "required": required, "schema": schema}
    if description:
        parameter["description"] = description
    return parameter


AGS = {
    "name": "ags",
    "in": "path",
    "required": True,
    "schema": STRING,
    "description": "the centre group (its district's key, from impfzentren.json's URL)",
}
CENTRE = _object(
    {
        "Zentrumsname": STRING,
        "PLZ": PLZ,
        "Ort": STRING,
        "Bundesland": STRING,
        "URL": {"type": "string", "format": "uri"},
        "Adresse": STRING,
    },
    ["Zentrumsname", "PLZ", "Ort", "Bundesland", "URL", "Adresse"],
)
VACCINE = _object(
    {
        "qualification": STRING,
        "name": STRING,
        "short": STRING,
        "tssname": STRING,
        "interval": {"type": "integer"},
        "age": STRING,
        "tssage": STRING,
    },
    ["qualification", "name", "short", "tssname", "interval", "age", "tssage"],
)
SLOT = _object(
    {"slotId": STRING, "begin": {"type": "integer"}, "bsnr": STRING}, ["slotId", "begin", "bsnr"]
)
PRACTICE = _object(
    {"name": STRING, "strasse": STRING, "plz": STRING, "ort": STRING, "barrierefreiheit": STRING}
)
# a booking's contact block: checked for shape (views._check_contact), not kept
CONTACT_FIELDS = (
    "anrede",
    "vorname",
    "nachname",
    "strasse",
    "hausnummer",
    "plz",
    "ort",
    "phone",
    "notificationChannel",
    "notificationReceiver",
)
CONTACT = _object({name: {"type": "string", "maxLength": 200} for name in CONTACT_FIELDS})


def _operation(
    method: str,
    summary: str,
    answers: dict,
    parameters: list,
    *,
    code: bool = False,
    body: dict | None = None,
) -> dict:
    """One operation; every one can also answer 404 (no such group), 429 and 503, those
    with a code 401, those with a body 413."""
    responses = {**answers, **COMMON, **(WITH_CODE if code else {})}
    operation: dict[str, Any] = {"summary": summary, "parameters": parameters}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
        responses |= TOO_LARGE
    operation["responses"] = responses
    if code:
        operation["security"] = [{"bookingCode": []}]
    return {method: operation}


PLZ_QUERY = _query("plz", PLZ, required=True, description="a centre's postcode in the group")
REFUSED = _answer("refused: the body, the postcode or a rule (texts say why)", ERRORS)

SCHEMA = {
    "openapi": "3.0.3",
    "info": {
        "title": "Impftermin: the 2021 impfterminservice.de protocol",
        "version": "2021",
        "description": (
            "For tools written for impfterminservice.de in 2021: only the base URL changes."
            " The same limits as on the web apply (SMS PIN rules, code look-ups, one pair per"
            " code). Texts are German. A booking code is sent as HTTP Basic credentials with"
            " an empty user name: `Authorization: Basic base64(':' + code)`. When the"
            " region's waiting room is on, every operation under /its/{ags}/ answers with"
            " its waiting page instead, as impfterminservice.de did ('Virtueller"
            " Warteraum'): 200, text/html, Retry-After, and a wr-ticket cookie that the"
            " client sends back when it asks again; let in, a wr-pass cookie opens the"
            " operations for a while. Unknown methods answer 405."
        ),
    },
    "components": {"securitySchemes": {"bookingCode": {"type": "http", "scheme": "basic"}}},
    "paths": {
        "/assets/static/impfzentren.json": {
            "get": {
                "summary": "the centres by Bundesland, each with its group's base URL",
                "responses": {
                    "200": _answer(
                        "centres",
                        {
                            "type": "object",
                            "additionalProperties": {"type": "array", "items": CENTRE},
                        },
                    ),
                    "429": COMMON["429"],
                    "503": COMMON["503"],
                },
            }
        },
        "/its/{ags}/": _operation(
            "get",
            "where the group's booking starts on the web",
            {"200": _answer("the web address", _object({"web": STRING}, ["web"]))},
            [AGS],
        ),
        "/its/{ags}/assets/static/its/vaccination-list.json": _operation(
            "get",
            "the group's vaccines",
            {"200": _answer("vaccines", {"type": "array", "items": VACCINE})},
            [AGS],
        ),
        "/its/{ags}/rest/suche/termincheck": _operation(
            "get",
            "whether pairs are free at the centre, and for which of the asked vaccines",
            {
                "200": _answer(
                    "availability",
                    _object(
                        {
                            "termineVorhanden": {"type": "boolean"},
                            "vorhandeneLeistungsmerkmale": STRINGS,
                        },
                        ["termineVorhanden", "vorhandeneLeistungsmerkmale"],
                    ),
                ),
                "400": REFUSED,
            },
            [
                AGS,
                PLZ_QUERY,
                _query(
                    "leistungsmerkmale",
                    STRING,
                    required=False,
                    description="vaccine codes, comma-separated (L920,L921)",
                ),
            ],
        ),
        "/its/{ags}/rest/smspin/anforderung": _operation(
            "post",
            "an SMS PIN to the mobile number; the age decides the vaccine",
            {
                "200": _answer("the PIN is on its way", _object({"token": STRING}, ["token"])),
                "400": _answer(
                    "refused (texts say why), or the number's PINs for today are used up",
                    {"oneOf": [ERRORS, PIN_LIMIT]},
                ),
            },
            [AGS],
            body=_object(
                {
                    "plz": PLZ,
                    "email": {"type": "string", "format": "email"},
                    "phone": {"type": "string", "example": "+4917000000000"},
                    "birthday": {"type": "string", "format": "date"},
                    "einzeltermin": {"type": "boolean", "default": False},
                },
                ["plz", "email", "phone", "birthday"],
            ),
        ),
        "/its/{ags}/rest/smspin/verifikation": _operation(
            "post",
            "the PIN from the SMS: right, and the e-mail link goes out (the codes follow it)",
            {"200": _answer("confirmed", _object({})), "400": REFUSED},
            [AGS],
            body=_object({"token": STRING, "smspin": STRING}, ["token", "smspin"]),
        ),
        "/its/{ags}/rest/login": _operation(
            "get",
            "the code's KV, its vaccines, and whether it is booked",
            {
                "200": _answer(
                    "the code",
                    _object(
                        {
                            "kv": STRING,
                            "qualifikationen": STRINGS,
                            "verknuepft": {"type": "boolean"},
                        },
                        ["kv", "qualifikationen", "verknuepft"],
                    ),
                ),
                "400": REFUSED,
            },
            [AGS, PLZ_QUERY],
            code=True,
        ),
        "/its/{ags}/rest/suche/impfterminsuche": _operation(
            "get",
            "bookable pairs at the centre for the code's vaccines (one slot for one dose)",
            {
                "200": _answer(
                    "pairs",
                    _object(
                        {
                            "termine": {
                                "type": "array",
                                "items": {"type": "array", "items": SLOT, "minItems": 1},
                            },
                            "termineTSS": {"type": "array", "maxItems": 0},
                            "praxen": {"type": "object", "additionalProperties": PRACTICE},
                            "gesuchteLeistungsmerkmale": STRINGS,
                        },
                        ["termine", "termineTSS", "praxen", "gesuchteLeistungsmerkmale"],
                    ),
                ),
                "400": REFUSED,
            },
            [AGS, PLZ_QUERY],
            code=True,
        ),
        "/its/{ags}/rest/buchung": _operation(
            "post",
            "book the pair (slot ids from the search); the confirmation goes by e-mail",
            {
                "201": _answer("booked", _object({})),
                "400": _answer(
                    "refused: BU004 a slot was taken meanwhile, WP009 the code has a booking,"
                    " WP011 the pair is not offered (any more), others say why",
                    ERRORS,
                ),
            },
            [AGS],
            code=True,
            body=_object(
                {
                    "plz": PLZ,
                    "slots": {"type": "array", "items": STRING, "minItems": 1, "maxItems": 2},
                    "qualifikationen": {
                        **STRINGS,
                        "description": "as 2021 clients send it; the code decides the vaccine",
                    },
                    "contact": CONTACT,
                },
                ["plz", "slots", "contact"],
            ),
        ),
    },
}
