// A local OpenID Connect provider standing in for ProConnect, on loopback only: the tests start
// it (tests/oidc_provider/__init__.py) and so does `make run` (bin/run), with demo accounts.
// It is the certified `oidc-provider` package configured as ProConnect behaves: authorization
// code with PKCE (S256), state and nonce, `acr_values=eidas1`, ID tokens signed with RS256 (keys
// published at jwks_uri), a *signed JWT* from the userinfo endpoint, and RP-initiated logout
// (id_token_hint, post_logout_redirect_uri, state) that ends the provider's session.
//
// Configuration, from the environment:
//   OIDC_PORT                  port on 127.0.0.1 (required)
//   OIDC_CLIENT_ID             the one client (the parcours instance)
//   OIDC_CLIENT_SECRET
//   OIDC_REDIRECT_URIS         comma-separated, exact (as ProConnect registers them)
//   OIDC_POST_LOGOUT_REDIRECT_URIS  comma-separated, exact
//   OIDC_ACCOUNTS_FILE         JSON list of accounts: {login, password, sub, claims: {...}}
//   OIDC_FLAVOUR               "proconnect" (default) or "franceconnect": FranceConnect's scopes
//                              and claims (the pivot identity: given_name, family_name,
//                              birthdate, birthplace, birthcountry, gender, email, preferred_name)
// It prints "oidc-provider ready <issuer>" once it listens. Never for production: keys are made
// at start and held in memory, accounts come from a file.

import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import { URL } from "node:url";

import Provider from "oidc-provider";

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is required`);
    process.exit(2);
  }
  return value;
}

const port = Number(required("OIDC_PORT"));
const issuer = `http://127.0.0.1:${port}`;
const list = (value) => value.split(",").map((item) => item.trim()).filter(Boolean);
const accounts = JSON.parse(readFileSync(required("OIDC_ACCOUNTS_FILE"), "utf8"));
const byLogin = new Map(accounts.map((account) => [account.login, account]));
const bySub = new Map(accounts.map((account) => [account.sub, account]));

// ProConnect's scopes and the claims each one releases (docs: « données fournies »).
const PROCONNECT_CLAIMS = {
  openid: ["sub"],
  email: ["email"],
  given_name: ["given_name"],
  usual_name: ["usual_name"],
  uid: ["uid"],
  siret: ["siret"],
  idp_id: ["idp_id"],
};
// FranceConnect's: one scope per claim of the pivot identity (its « données fournies »).
const FRANCECONNECT_CLAIMS = {
  openid: ["sub"],
  given_name: ["given_name"],
  family_name: ["family_name"],
  birthdate: ["birthdate"],
  birthplace: ["birthplace"],
  birthcountry: ["birthcountry"],
  gender: ["gender"],
  email: ["email"],
  preferred_username: ["preferred_username"],
};
const flavour = process.env.OIDC_FLAVOUR || "proconnect";
const CLAIMS = flavour === "franceconnect" ? FRANCECONNECT_CLAIMS : PROCONNECT_CLAIMS;
const BRAND = flavour === "franceconnect" ? "FranceConnect local" : "ProConnect local";

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: "jwk" }), kid: randomBytes(8).toString("hex"), use: "sig", alg: "RS256" };

const escape = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

function page(title, body) {
  return `<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} — fournisseur d'identité local</title>
<style>
  body { font-family: Marianne, Arial, sans-serif; max-width: 28rem; margin: 3rem auto; padding: 0 1rem; color: #161616; }
  label { display: block; margin-top: 1rem; font-weight: bold; }
  input { display: block; width: 100%; padding: .5rem; margin-top: .25rem; box-sizing: border-box; }
  button { margin-top: 1.5rem; padding: .6rem 1.2rem; background: #000091; color: #fff; border: 0; cursor: pointer; }
  .error { color: #ce0500; }
  .note { color: #3a3a3a; font-size: .9rem; }
</style></head>
<body><main>${body}</main></body></html>`;
}

function loginPage(uid, { login = "", error = "" } = {}) {
  return page(
    "Connexion",
    `<h1>Connexion (${BRAND})</h1>
<p class="note">Fournisseur d'identité de démonstration, sur cette machine seulement.</p>
${error ? `<p class="error" role="alert">${escape(error)}</p>` : ""}
<form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
  <label for="login">Identifiant</label>
  <input id="login" name="login" value="${escape(login)}" required autofocus>
  <label for="password">Mot de passe</label>
  <input id="password" name="password" type="password" required>
  <button type="submit">Se connecter</button>
</form>`,
  );
}

const configuration = {
  clients: [
    {
      client_id: required("OIDC_CLIENT_ID"),
      client_secret: required("OIDC_CLIENT_SECRET"),
      redirect_uris: list(required("OIDC_REDIRECT_URIS")),
      post_logout_redirect_uris: list(required("OIDC_POST_LOGOUT_REDIRECT_URIS")),
      response_types: ["code"],
      grant_types: ["authorization_code"],
      token_endpoint_auth_method: "client_secret_post",
      id_token_signed_response_alg: "RS256",
      userinfo_signed_response_alg: "RS256",
    },
  ],
  jwks: { keys: [signingKey] },
  claims: CLAIMS,
  scopes: Object.keys(CLAIMS),
  acrValues: ["eidas1"],
  pkce: { required: () => true },
  cookies: { keys: [randomBytes(32).toString("hex")] },
  features: {
    devInteractions: { enabled: false },
    jwtUserinfo: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      // ProConnect ends the session without asking: the confirmation form submits itself,
      // asking to end the whole session (logout=yes), not only this client's grant.
      logoutSource: async (ctx, form) => {
        const withYes = form.replace("</form>", '<input type="hidden" name="logout" value="yes"/></form>');
        ctx.body = page(
          "Déconnexion",
          `<h1>Déconnexion</h1>${withYes}
<noscript><button form="op.logoutForm" type="submit">Se déconnecter</button></noscript>
<script>document.getElementById("op.logoutForm").submit();</script>`,
        );
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const account = bySub.get(sub);
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, ...account.claims };
      },
    };
  },
  ttl: { Session: 12 * 3600, Interaction: 600, Grant: 12 * 3600, AuthorizationCode: 30, AccessToken: 60, IdToken: 3600 },
  renderError: async (ctx, out) => {
    ctx.type = "html";
    ctx.body = page("Erreur", `<h1>Erreur</h1><p>${escape(out.error)} : ${escape(out.error_description || "")}</p>`);
  },
};

const provider = new Provider(issuer, configuration);

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error("interaction mismatch");
  const { prompt, params, session } = details;
  if (prompt.name === "login") {
    if (action !== "login" || req.method !== "POST") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(loginPage(uid));
      return;
    }
    const form = await readForm(req);
    const account = byLogin.get(form.get("login") || "");
    if (!account || account.password !== form.get("password")) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(loginPage(uid, { login: form.get("login") || "", error: "Identifiant ou mot de passe incorrect." }));
      return;
    }
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: account.sub, acr: "eidas1", amr: ["pwd"] } },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  if (prompt.name === "consent") {
    // ProConnect asks the agent nothing more: the client's scopes are granted at once.
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(" "));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  throw new Error(`unexpected prompt ${prompt.name}`);
}

const callback = provider.callback();
const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, issuer);
  const match = url.pathname.match(/^\/interaction\/([\w-]+)(?:\/(login))?$/);
  if (!match) {
    callback(req, res);
    return;
  }
  try {
    await interaction(req, res, match[1], match[2]);
  } catch (error) {
    if (!res.headersSent) {
      res.writeHead(400, { "content-type": "text/html; charset=utf-8" });
      res.end(page("Erreur", `<h1>Erreur</h1><p>${escape(error.message)}</p>`));
    }
  }
});

server.listen(port, "127.0.0.1", () => {
  console.log(`oidc-provider ready ${issuer}`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
