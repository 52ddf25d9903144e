"""The running practice tenant (`appgrant-sim --tls`) as the MSAL tests see it.

Everything here is what a person testing a client by hand would do: read the tenant facts
from the simulator's control API, build an MSAL application with the configuration a real
user gives (authority, trusted CA, no instance discovery for a non-Microsoft host), play the
browser on the sign-in and consent pages, and call Microsoft Graph with plain `requests`.

The runner (`run.sh`) starts the simulator and passes `APPGRANT_SIM_URL` (its https base
URL) and `APPGRANT_SIM_CA` (the PEM file of the CA it generated).
"""

import base64
import json
import os
import threading
import time
import urllib.parse
from html.parser import HTMLParser

import msal
import requests

GRAPH = "https://graph.microsoft.com"
GRAPH_DEFAULT = GRAPH + "/.default"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
# A loopback redirect, as MSAL's own samples register for desktop apps.
REDIRECT_URI = "http://localhost:8400"


class SimError(AssertionError):
    """The simulator answered something a real client would not accept."""


def _env(name):
    value = os.environ.get(name)
    if not value:
        raise SimError(
            f"{name} is not set: run these tests through tests/msal/run.sh, which starts "
            "appgrant-sim --tls and exports APPGRANT_SIM_URL and APPGRANT_SIM_CA."
        )
    return value


def jwt_claims(token):
    """The claims of a JWT (no signature check: the tests read what Graph would read)."""
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


class Tenant:
    """The practice tenant behind one running simulator."""

    def __init__(self):
        self.base = _env("APPGRANT_SIM_URL").rstrip("/")
        self.ca = _env("APPGRANT_SIM_CA")
        # `requests` lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's `verify`
        # (MSAL's `verify=` included), so a machine that sets them for the system store would
        # ignore the practice CA: point them at it, as a user of such a machine would.
        os.environ["REQUESTS_CA_BUNDLE"] = self.ca
        os.environ.pop("CURL_CA_BUNDLE", None)
        self.http = requests.Session()
        self.http.verify = self.ca
        info = self._control("GET", "info")
        self.tenant_id = info["tenantId"]
        self.domain = info["tenantDomain"]
        self.public_client_id = info["publicClientId"]
        self.admin_upn = info["adminUpn"]
        self.non_admin_upn = info["nonAdminUpn"]
        self.graph_base = info.get("graphBase", self.base).rstrip("/")

    # --- the simulator's control API (not Microsoft's surface) -------------------------

    def _control(self, method, path, body=None):
        r = self.http.request(method, f"{self.base}/_sim/{path}", json=body, timeout=30)
        if r.status_code >= 300:
            raise SimError(f"{method} /_sim/{path}: {r.status_code} {r.text}")
        return r.json() if r.text else None

    def set_knobs(self, **changes):
        knobs = self._control("GET", "knobs")
        knobs.update(changes)
        self._control("PUT", "knobs", knobs)

    def approve_device_code(self, user_code, upn):
        self._control("POST", "devicecode/approve", {"userCode": user_code, "user": upn})

    def token_requests(self):
        """How many requests reached the token endpoint so far (any status)."""
        routes = self._control("GET", "counters")["routes"]
        return sum(
            c["count"]
            for key, c in routes.items()
            if key.startswith("POST ") and key.split(" ")[1].endswith("/oauth2/v2.0/token")
        )

    def total_requests(self):
        """Requests to Microsoft's surface (identity platform + Graph) so far."""
        return self._control("GET", "counters")["totalRequests"]

    # --- MSAL applications, configured as a user would --------------------------------

    def authority(self, tenant=None):
        return f"{self.base}/{tenant or self.tenant_id}"

    def public_app(self, tenant=None):
        return msal.PublicClientApplication(
            self.public_client_id,
            authority=self.authority(tenant),
            instance_discovery=False,  # not a Microsoft host: no login.microsoftonline.com lookup
            verify=self.ca,
        )

    def confidential_app(self, client_id, secret, tenant=None):
        """`secret`: a client secret string, or MSAL's certificate dict
        (`{"private_key": PEM, "public_certificate": PEM}` or `{"private_key", "thumbprint"}`)."""
        return msal.ConfidentialClientApplication(
            client_id,
            client_credential=secret,
            authority=self.authority(tenant),
            instance_discovery=False,
            verify=self.ca,
        )

    # --- the two interactive ways an admin signs in ----------------------------------

    def device_code_sign_in(self, app, scopes, upn, approve_after=0.3):
        """Device code flow; the admin 'approves on another device' from a second thread."""
        flow = app.initiate_device_flow(scopes=scopes)
        if "user_code" not in flow:
            raise SimError(f"device code flow did not start: {flow}")
        errors = []

        def approve():
            time.sleep(approve_after)  # let MSAL poll at least once (authorization_pending)
            try:
                self.approve_device_code(flow["user_code"], upn)
            except Exception as e:  # reported by the caller, not lost in the thread
                errors.append(e)

        t = threading.Thread(target=approve)
        t.start()
        result = app.acquire_token_by_device_flow(flow)
        t.join()
        if errors:
            raise errors[0]
        return flow, result

    def auth_code_sign_in(self, app, scopes, upn, **flow_kwargs):
        """Auth code + PKCE: MSAL builds the URL, the test is the browser, MSAL redeems."""
        flow = app.initiate_auth_code_flow(scopes, redirect_uri=REDIRECT_URI, **flow_kwargs)
        auth_response = Browser(self.ca).sign_in(flow["auth_uri"], upn)
        result = app.acquire_token_by_auth_code_flow(flow, auth_response)
        return flow, auth_response, result

    def admin_token(self):
        """A delegated Graph token for the Global Administrator, from an MSAL sign-in with
        `.default`: every permission the tenant consented for the first-party client."""
        _, _, result = self.auth_code_sign_in(self.public_app(), [GRAPH_DEFAULT], self.admin_upn)
        if "access_token" not in result:
            raise SimError(f"admin sign-in failed: {result.get('error_description', result)}")
        return result["access_token"]

    # --- Microsoft Graph with plain requests --------------------------------------------

    def graph(self, token, method, path, body=None, expect=None):
        """Calls Graph v1.0; returns (status, json). `expect` asserts the status."""
        url = path if path.startswith("https://") else f"{self.graph_base}/v1.0{path}"
        r = self.http.request(
            method,
            url,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        data = r.json() if r.text else None
        if expect is not None and r.status_code != expect:
            raise SimError(f"{method} {path}: expected {expect}, got {r.status_code}: {r.text}")
        return r.status_code, data

    def register_app(self, admin_token, body):
        """Creates an application, its service principal and a client secret, as an admin
        would with Graph. Returns (application, service principal, secret text)."""
        _, app = self.graph(admin_token, "POST", "/applications", body, expect=201)
        _, sp = self.graph(
            admin_token, "POST", "/servicePrincipals", {"appId": app["appId"]}, expect=201
        )
        _, secret = self.graph(
            admin_token,
            "POST",
            f"/applications/{app['id']}/addPassword",
            {"passwordCredential": {"displayName": "msal test"}},
            expect=200,
        )
        return app, sp, secret["secretText"]

    def upload_certificate(self, admin_token, app_object_id, cert_der):
        """Gives the app a certificate the documented way for the first one: PATCH
        `keyCredentials` with the base64 DER of the public certificate."""
        key = base64.b64encode(cert_der).decode()
        body = {"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": key}]}
        self.graph(admin_token, "PATCH", f"/applications/{app_object_id}", body, expect=204)

    def grant_app_roles(self, admin_token, sp_id, roles):
        """Grants Microsoft Graph application permissions (by value) to a service principal."""
        _, graph_sp = self.graph(
            admin_token,
            "GET",
            f"/servicePrincipals(appId='{GRAPH_APP_ID}')?$select=id,appRoles",
            expect=200,
        )
        role_ids = {r["value"]: r["id"] for r in graph_sp["appRoles"]}
        for role in roles:
            body = {"principalId": sp_id, "resourceId": graph_sp["id"], "appRoleId": role_ids[role]}
            self.graph(
                admin_token,
                "POST",
                f"/servicePrincipals/{graph_sp['id']}/appRoleAssignedTo",
                body,
                expect=201,
            )


def self_signed_certificate(common_name, days=365):
    """An RSA-2048 key and a self-signed certificate, made on the client side as a vendor
    would (`cryptography`, which MSAL itself depends on). Returns (key PEM, cert PEM, cert DER,
    SHA-1 thumbprint in hex)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    der = cert.public_bytes(serialization.Encoding.DER)
    return key_pem, cert_pem, der, cert.fingerprint(hashes.SHA1()).hex()


class _Forms(HTMLParser):
    """Collects the forms of an HTML page: action, method, hidden inputs, submit buttons."""

    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append(
                {"action": a.get("action", ""), "method": a.get("method", "get"),
                 "fields": {}, "buttons": []}
            )
        elif self.forms and tag == "input" and a.get("type") in ("hidden", "checkbox"):
            if a.get("name"):
                self.forms[-1]["fields"][a["name"]] = (a.get("type"), a.get("value", ""))
        elif self.forms and tag == "button" and a.get("name"):
            self.forms[-1]["buttons"].append((a["name"], a.get("value", "")))


class Browser:
    """Just enough of a browser for the sign-in, consent and device-login pages: GET, fill in
    and submit forms like a person would, and stop at the redirect (or the form_post page) to
    the app's loopback address, where the app would be listening, or at a page with no form
    (the end of a device login)."""

    def __init__(self, ca):
        self.http = requests.Session()
        self.http.verify = ca
        self.pages = []  # (url, status) visited, for messages
        self.texts = []  # every HTML page shown

    def sign_in(self, auth_uri, upn):
        """Signs `upn` in for an app; returns what the app receives on its redirect URI."""
        kind, value = self._walk(self._go("GET", auth_uri), upn)
        if kind != "redirect":
            raise SimError(f"sign-in did not end at {REDIRECT_URI}; pages: {self.pages}")
        return value

    def enter_device_code(self, verification_uri, user_code, upn):
        """A person on another device: opens the verification page, enters the code and the
        account, goes through consent. Returns the last page's HTML."""
        r = self._go("GET", verification_uri)
        form = self._forms(r)[0]
        data = {"user_code": user_code, "username": upn, "password": ""}
        r = self._go("POST", urllib.parse.urljoin(r.url, form["action"]), data=data)
        kind, value = self._walk(r, upn)
        if kind != "page":
            raise SimError(f"device login ended in a redirect: {value}")
        return value

    def _walk(self, r, upn):
        for _ in range(6):
            if r.status_code in (301, 302, 303):
                location = r.headers["Location"]
                if location.startswith(REDIRECT_URI):
                    query = urllib.parse.urlsplit(location).query
                    return "redirect", dict(urllib.parse.parse_qsl(query))
                r = self._go("GET", urllib.parse.urljoin(r.url, location))
                continue
            forms = self._forms(r, allow_none=True)
            if not forms:
                return "page", r.text
            form = forms[0]
            data = {k: v for k, (kind, v) in form["fields"].items() if kind == "hidden"}
            if form["action"].startswith(REDIRECT_URI):  # response_mode=form_post
                return "redirect", data
            if 'name="username"' in r.text:  # the sign-in page
                data.update(username=upn, password="")
            else:
                data.update(self._choose(form))
            r = self._go("POST", urllib.parse.urljoin(r.url, form["action"]), data=data)
        raise SimError(f"too many pages: {self.pages}")

    @staticmethod
    def _choose(form):
        """Consent: accept (ticking 'on behalf of your organisation' when offered). A page
        with only one button (e.g. 'Need admin approval') leaves no choice."""
        data = {name: value or "on" for name, (kind, value) in form["fields"].items()
                if kind == "checkbox"}
        accept = [b for b in form["buttons"] if b[1] == "accept"]
        if accept:
            data[accept[0][0]] = accept[0][1]
        elif len(form["buttons"]) == 1:
            data[form["buttons"][0][0]] = form["buttons"][0][1]
        else:
            raise SimError(f"no Accept button among {form['buttons']}")
        return data

    def _go(self, method, url, data=None):
        r = self.http.request(method, url, data=data, allow_redirects=False, timeout=30)
        self.pages.append((url.split("?")[0], r.status_code))
        if r.status_code == 200:
            self.texts.append(r.text)
        return r

    def _forms(self, r, allow_none=False):
        if r.status_code != 200:
            raise SimError(f"{r.url}: {r.status_code} {r.text[:500]}")
        p = _Forms()
        p.feed(r.text)
        if not p.forms and not allow_none:
            raise SimError(f"no form on {r.url}: {r.text[:500]}")
        return p.forms
