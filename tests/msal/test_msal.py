"""Microsoft's own `msal` Python library against the practice tenant (appgrant-sim --tls).

MSAL is used unchanged; the only configuration is what a real user gives it: the authority
(`https://127.0.0.1:PORT/<tenant id or domain>`), the CA to trust, and
`instance_discovery=False` because the host is not a Microsoft one. Each flow ends with a
Graph call made with the token it produced, and asserts what a person would check: who is
signed in, which tenant, which permissions.

Run through `tests/msal/run.sh` (it starts the simulator and exports its URL and CA file).
"""

import unittest
import uuid
import warnings

from practice import (
    GRAPH_DEFAULT,
    REDIRECT_URI,
    Browser,
    Tenant,
    jwt_claims,
    self_signed_certificate,
)

tenant = None


def setUpModule():
    global tenant
    # MSAL recommends response_mode="form_post" (one test uses it); the others keep the
    # default query mode on purpose, so its reminder is noise here.
    warnings.filterwarnings("ignore", message="response_mode='form_post' is recommended")
    tenant = Tenant()
    # A tenant setting, not an MSAL one: poll every second instead of Microsoft's typical 5 s,
    # so the device code test takes about a second.
    tenant.set_knobs(device_code_interval_secs=1)


def scopes_of(token):
    return set(jwt_claims(token).get("scp", "").split())


def cache_miss(app, scopes):
    """Why MSAL's cache did not answer: the scopes asked for vs. the cached tokens' scopes
    (MSAL files a token under the `scope` of the token response)."""
    kind = app.token_cache.CredentialType.ACCESS_TOKEN
    targets = [at["target"] for at in app.token_cache.search(kind)]
    return f"MSAL went to the tenant for {scopes}; its cached access tokens are for {targets}"


def shown(result):
    """An MSAL result for a failure message, tokens left out (they are secrets, even here)."""
    hidden = ("access_token", "refresh_token", "id_token", "client_info")
    return {k: "<hidden>" if k in hidden else v for k, v in (result or {}).items()}


def assert_token(test, result):
    test.assertIn("access_token", result, f"MSAL got no token: {shown(result)}")
    return result["access_token"]


class DeviceCode(unittest.TestCase):
    """`initiate_device_flow` + `acquire_token_by_device_flow`, approved on 'another device'."""

    def test_graph_default_signs_the_admin_in_with_every_permission_the_tenant_consented(self):
        app = tenant.public_app()
        flow, result = tenant.device_code_sign_in(app, [GRAPH_DEFAULT], tenant.admin_upn)
        # The code-entry page is on the address the client used (https, same host and port).
        self.assertTrue(
            flow["verification_uri"].startswith(tenant.base + "/"), flow["verification_uri"]
        )
        self.assertIn(flow["user_code"], flow["message"])
        token = assert_token(self, result)
        self.assertEqual(result["id_token_claims"]["preferred_username"], tenant.admin_upn)
        self.assertEqual(result["id_token_claims"]["tid"], tenant.tenant_id)

        # Graph: who am I, which organisation.
        _, me = tenant.graph(token, "GET", "/me", expect=200)
        self.assertEqual(me["userPrincipalName"], tenant.admin_upn)
        _, org = tenant.graph(token, "GET", "/organization", expect=200)
        self.assertEqual(org["value"][0]["id"], tenant.tenant_id)

        # `.default` for Microsoft's first-party client: every delegated permission the tenant
        # has consented for that client (read back from Graph with the same token).
        _, sp = tenant.graph(
            token, "GET", f"/servicePrincipals(appId='{tenant.public_client_id}')", expect=200
        )
        _, grants = tenant.graph(
            token,
            "GET",
            f"/oauth2PermissionGrants?$filter=clientId eq '{sp['id']}'",
            expect=200,
        )
        consented = {
            s
            for g in grants["value"]
            if g["consentType"] == "AllPrincipals"
            for s in g["scope"].split()
            if s not in ("openid", "profile", "offline_access", "email")
        }
        self.assertTrue(consented, "the tenant has no consent for the first-party client")
        self.assertLessEqual(consented, scopes_of(token))

    def test_graph_default_token_is_found_again_in_the_cache(self):
        app = tenant.public_app()
        _, result = tenant.device_code_sign_in(app, [GRAPH_DEFAULT], tenant.admin_upn)
        token = assert_token(self, result)
        accounts = app.get_accounts(username=tenant.admin_upn)
        self.assertEqual(len(accounts), 1, accounts)
        before = tenant.total_requests()
        again = app.acquire_token_silent_with_error([GRAPH_DEFAULT], account=accounts[0])
        self.assertIsNotNone(again, "MSAL found neither the token nor a refresh token")
        self.assertEqual(again.get("token_source"), "cache", cache_miss(app, [GRAPH_DEFAULT]))
        self.assertEqual(again["access_token"], token)
        self.assertEqual(tenant.total_requests(), before, "the silent call went to the tenant")

    def test_a_user_who_is_not_an_admin_cannot_consent_to_an_admin_only_permission(self):
        app = tenant.public_app()
        flow = app.initiate_device_flow(scopes=["Directory.ReadWrite.All"])
        self.assertIn("user_code", flow, flow)
        # The user goes through the device login pages on their phone.
        browser = Browser(tenant.ca)
        browser.enter_device_code(flow["verification_uri"], flow["user_code"], tenant.non_admin_upn)
        self.assertTrue(
            any("only an admin can grant" in page for page in browser.texts),
            f"no 'Need admin approval' page; pages: {browser.pages}",
        )
        result = app.acquire_token_by_device_flow(flow)
        self.assertFalse("access_token" in result, f"a token was issued: {shown(result)}")
        self.assertEqual(result.get("error"), "authorization_declined", shown(result))


class AuthCodePkce(unittest.TestCase):
    """`initiate_auth_code_flow` (PKCE), the test as the browser,
    `acquire_token_by_auth_code_flow`."""

    def test_admin_signs_in_through_the_pages_and_reads_their_profile(self):
        # The tenant's domain as authority, as many admins type it.
        app = tenant.public_app(tenant=tenant.domain)
        flow, auth_response, result = tenant.auth_code_sign_in(
            app, ["User.Read"], tenant.admin_upn, response_mode="form_post"
        )
        self.assertIn("code", auth_response)
        self.assertEqual(auth_response.get("state"), flow["state"])
        token = assert_token(self, result)
        idt = result["id_token_claims"]
        self.assertEqual(idt["preferred_username"], tenant.admin_upn)
        self.assertEqual(idt["tid"], tenant.tenant_id)
        self.assertEqual(idt["aud"], tenant.public_client_id)
        discovery = tenant.http.get(
            f"{tenant.base}/{tenant.tenant_id}/v2.0/.well-known/openid-configuration"
        ).json()
        self.assertEqual(idt["iss"], discovery["issuer"])
        self.assertIn("User.Read", scopes_of(token))
        _, me = tenant.graph(token, "GET", "/me", expect=200)
        self.assertEqual(me["userPrincipalName"], tenant.admin_upn)
        self.assertEqual(me["id"], idt["oid"])

    def test_an_authorization_code_is_redeemed_only_once(self):
        app = tenant.public_app()
        flow, auth_response, result = tenant.auth_code_sign_in(
            app, ["User.Read"], tenant.admin_upn
        )
        assert_token(self, result)
        other = tenant.public_app()  # a second app instance replaying the same answer
        replay = other.acquire_token_by_auth_code_flow(dict(flow), auth_response)
        self.assertEqual(replay.get("error"), "invalid_grant", shown(replay))


class SilentRefresh(unittest.TestCase):
    """After an auth code sign-in: accounts, the token cache, and the refresh token."""

    def setUp(self):
        self.app = tenant.public_app()
        _, _, result = tenant.auth_code_sign_in(self.app, ["User.Read"], tenant.admin_upn)
        self.token = assert_token(self, result)
        self.id_claims = result["id_token_claims"]

    def account(self):
        accounts = self.app.get_accounts()
        self.assertEqual(len(accounts), 1, accounts)
        return accounts[0]

    def test_get_accounts_finds_the_signed_in_admin(self):
        account = self.account()
        self.assertEqual(account["username"], tenant.admin_upn)
        # `client_info` gives MSAL the home account id `<object id>.<tenant id>`, the key all
        # MSAL libraries share a cache by.
        self.assertEqual(
            account["home_account_id"], f"{self.id_claims['oid']}.{tenant.tenant_id}"
        )
        self.assertEqual(account["local_account_id"], self.id_claims["oid"])
        self.assertEqual(account["realm"], tenant.tenant_id)

    def test_silent_call_returns_the_cached_token_without_asking_the_tenant(self):
        before = tenant.total_requests()
        result = self.app.acquire_token_silent_with_error(["User.Read"], account=self.account())
        self.assertIsNotNone(result, "MSAL found neither the token nor a refresh token")
        self.assertEqual(result.get("token_source"), "cache", cache_miss(self.app, ["User.Read"]))
        self.assertEqual(result["access_token"], self.token)
        self.assertEqual(tenant.total_requests(), before, "the silent call went to the tenant")

    def test_force_refresh_redeems_the_refresh_token(self):
        before = tenant.token_requests()
        result = self.app.acquire_token_silent_with_error(
            ["User.Read"], account=self.account(), force_refresh=True
        )
        self.assertIsNotNone(result, "MSAL found no refresh token in its cache")
        token = assert_token(self, result)
        self.assertEqual(result.get("token_source"), "identity_provider", shown(result))
        self.assertNotEqual(token, self.token)
        self.assertEqual(tenant.token_requests(), before + 1)
        _, me = tenant.graph(token, "GET", "/me", expect=200)
        self.assertEqual(me["userPrincipalName"], tenant.admin_upn)

    def test_consented_scope_not_asked_at_sign_in_comes_from_the_refresh_token(self):
        # Group.Read.All is consented tenant-wide for this client, but the sign-in asked only
        # for User.Read: Microsoft issues it from the refresh token, no new sign-in.
        before = tenant.token_requests()
        result = self.app.acquire_token_silent_with_error(
            ["Group.Read.All"], account=self.account()
        )
        self.assertIsNotNone(result, "MSAL found no refresh token in its cache")
        token = assert_token(self, result)
        self.assertIn("Group.Read.All", scopes_of(token))
        self.assertEqual(tenant.token_requests(), before + 1)
        _, groups = tenant.graph(token, "GET", "/groups?$top=1", expect=200)
        self.assertEqual(len(groups["value"]), 1)


class ClientCredentials(unittest.TestCase):
    """A daemon app registered through Graph, then `acquire_token_for_client` with its secret."""

    ROLES = ("User.Read.All", "Application.Read.All")

    @classmethod
    def setUpClass(cls):
        # The admin registers the daemon with plain Graph calls, using an MSAL sign-in.
        admin = tenant.admin_token()
        cls.name = f"MSAL daemon test {uuid.uuid4().hex[:8]}"
        app, sp, cls.secret = tenant.register_app(
            admin, {"displayName": cls.name, "signInAudience": "AzureADMyOrg"}
        )
        cls.app_id = app["appId"]
        tenant.grant_app_roles(admin, sp["id"], cls.ROLES)

    def test_secret_gets_an_app_only_token_with_the_granted_roles(self):
        cca = tenant.confidential_app(self.app_id, self.secret, tenant=tenant.domain)
        result = cca.acquire_token_for_client(scopes=[GRAPH_DEFAULT])
        token = assert_token(self, result)
        claims = jwt_claims(token)
        self.assertEqual(claims["tid"], tenant.tenant_id)
        self.assertEqual(claims["appid"], self.app_id)
        self.assertLessEqual(set(self.ROLES), set(claims.get("roles", [])))
        self.assertNotIn("scp", claims)
        _, users = tenant.graph(token, "GET", "/users?$top=1", expect=200)
        self.assertEqual(len(users["value"]), 1)
        self.assertTrue(users["value"][0]["userPrincipalName"].endswith("@" + tenant.domain))
        _, apps = tenant.graph(
            token, "GET", f"/applications?$filter=appId eq '{self.app_id}'", expect=200
        )
        self.assertEqual([a["displayName"] for a in apps["value"]], [self.name])

    def test_second_call_is_served_from_msal_cache(self):
        cca = tenant.confidential_app(self.app_id, self.secret)
        first = cca.acquire_token_for_client(scopes=[GRAPH_DEFAULT])
        assert_token(self, first)
        before = tenant.total_requests()
        second = cca.acquire_token_for_client(scopes=[GRAPH_DEFAULT])
        self.assertEqual(second.get("token_source"), "cache", shown(second))
        self.assertEqual(second["access_token"], first["access_token"])
        self.assertEqual(tenant.total_requests(), before)

    def test_wrong_secret_is_refused_with_microsofts_error(self):
        cca = tenant.confidential_app(self.app_id, "not-the-secret")
        result = cca.acquire_token_for_client(scopes=[GRAPH_DEFAULT])
        self.assertFalse("access_token" in result, f"a token was issued: {shown(result)}")
        self.assertEqual(result.get("error"), "invalid_client", shown(result))
        self.assertIn(7000215, result.get("error_codes", []), shown(result))


class CertificateCredentials(unittest.TestCase):
    """A daemon that proves itself with a certificate: the admin uploads the public part with
    Graph (PATCH keyCredentials); MSAL signs the client assertion with the private key."""

    ROLES = ("User.Read.All",)

    @classmethod
    def setUpClass(cls):
        admin = tenant.admin_token()
        app, sp, _ = tenant.register_app(
            admin, {"displayName": f"MSAL certificate test {uuid.uuid4().hex[:8]}"}
        )
        cls.app_id = app["appId"]
        cls.key_pem, cls.cert_pem, der, cls.sha1 = self_signed_certificate("MSAL daemon")
        tenant.upload_certificate(admin, app["id"], der)
        tenant.grant_app_roles(admin, sp["id"], cls.ROLES)

    def assert_certificate_token(self, credential):
        cca = tenant.confidential_app(self.app_id, credential)
        token = assert_token(self, cca.acquire_token_for_client(scopes=[GRAPH_DEFAULT]))
        claims = jwt_claims(token)
        self.assertEqual(claims["appid"], self.app_id)
        self.assertEqual(claims["appidacr"], "2", "a certificate sign-in is appidacr 2")
        self.assertEqual(set(claims.get("roles", [])), set(self.ROLES))
        _, users = tenant.graph(token, "GET", "/users?$top=1", expect=200)
        self.assertEqual(len(users["value"]), 1)

    def test_sha256_thumbprint_from_the_public_certificate(self):
        # MSAL computes the SHA-256 thumbprint: PS256 with x5t#S256 (and x5c).
        self.assert_certificate_token(
            {"private_key": self.key_pem, "public_certificate": self.cert_pem}
        )

    def test_sha1_thumbprint_given_by_hand(self):
        # The older form: RS256 with x5t (SHA-1), as the portal's thumbprint column shows it.
        self.assert_certificate_token({"private_key": self.key_pem, "thumbprint": self.sha1})

    def test_a_certificate_the_app_does_not_have_is_refused_with_microsofts_error(self):
        other_key, other_cert, _, _ = self_signed_certificate("Not uploaded")
        cca = tenant.confidential_app(
            self.app_id, {"private_key": other_key, "public_certificate": other_cert}
        )
        result = cca.acquire_token_for_client(scopes=[GRAPH_DEFAULT])
        self.assertFalse("access_token" in result, f"a token was issued: {shown(result)}")
        self.assertEqual(result.get("error"), "invalid_client", shown(result))
        self.assertIn(700027, result.get("error_codes", []), shown(result))


class WebAppAuthCode(unittest.TestCase):
    """A web app (`ConfidentialClientApplication` with a secret) signing a user in: the user
    consents for themself on the consent page; MSAL caches and refreshes the token."""

    def test_user_consents_to_a_web_app_and_it_refreshes_silently(self):
        admin = tenant.admin_token()
        app, sp, secret = tenant.register_app(
            admin,
            {
                "displayName": f"MSAL web app test {uuid.uuid4().hex[:8]}",
                "signInAudience": "AzureADMyOrg",
                "web": {"redirectUris": [REDIRECT_URI]},
            },
        )
        cca = tenant.confidential_app(app["appId"], secret)
        flow = cca.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)
        browser = Browser(tenant.ca)
        auth_response = browser.sign_in(flow["auth_uri"], tenant.non_admin_upn)
        self.assertTrue(
            any("wants to" in page and "User.Read" in page for page in browser.texts),
            f"no consent page listing User.Read; pages: {browser.pages}",
        )
        result = cca.acquire_token_by_auth_code_flow(flow, auth_response)
        token = assert_token(self, result)
        self.assertIn("User.Read", scopes_of(token))
        _, me = tenant.graph(token, "GET", "/me", expect=200)
        self.assertEqual(me["userPrincipalName"], tenant.non_admin_upn)

        # The admin sees the user's own consent (not one for the whole organisation).
        _, grants = tenant.graph(
            admin, "GET", f"/oauth2PermissionGrants?$filter=clientId eq '{sp['id']}'", expect=200
        )
        self.assertEqual(
            [(g["consentType"], g["principalId"], g["scope"].split()) for g in grants["value"]],
            [("Principal", me["id"], ["User.Read"])],
        )

        account = cca.get_accounts(username=tenant.non_admin_upn)[0]
        before = tenant.token_requests()
        cached = cca.acquire_token_silent_with_error(["User.Read"], account=account)
        self.assertEqual(cached.get("token_source"), "cache", cache_miss(cca, ["User.Read"]))
        refreshed = cca.acquire_token_silent_with_error(
            ["User.Read"], account=account, force_refresh=True
        )
        self.assertEqual(refreshed.get("token_source"), "identity_provider", shown(refreshed))
        self.assertEqual(tenant.token_requests(), before + 1)

    def test_a_web_app_redeems_the_code_with_a_certificate(self):
        # Through `organizations`: MSAL's assertion names that token endpoint as its audience.
        admin = tenant.admin_token()
        app, _, _ = tenant.register_app(
            admin,
            {
                "displayName": f"MSAL web app certificate test {uuid.uuid4().hex[:8]}",
                "web": {"redirectUris": [REDIRECT_URI]},
            },
        )
        key_pem, cert_pem, der, _ = self_signed_certificate("MSAL web app")
        tenant.upload_certificate(admin, app["id"], der)
        cca = tenant.confidential_app(
            app["appId"],
            {"private_key": key_pem, "public_certificate": cert_pem},
            tenant="organizations",
        )
        _, _, result = tenant.auth_code_sign_in(cca, ["User.Read"], tenant.admin_upn)
        token = assert_token(self, result)
        _, me = tenant.graph(token, "GET", "/me", expect=200)
        self.assertEqual(me["userPrincipalName"], tenant.admin_upn)


if __name__ == "__main__":
    unittest.main()
