// The medialens web chat: sign in with the stack's Cognito user pool, exchange the ID
// token for the identity pool's credentials, and talk to the Lex V2 bot's live alias with
// RecognizeText, signed with SigV4 by aws4fetch (web/vendor, served from this origin).
//
// config.json, written next to this page at deploy (or by `make chat ARGS=--web`), names
// the bot, the user pool and the endpoints. Nothing here knows whether it runs on AWS or
// offline: offline, the endpoints are the local stand-ins and config.json says so.

import { AwsClient } from "./vendor/aws4fetch.esm.js";

const LINKS_ATTRIBUTE = "medialens.links";
const HISTORY_KEY = "medialens.chat.history";
const TOKENS_KEY = "medialens.chat.tokens";
const LOGIN_KEY = "medialens.chat.login";
const SESSION_KEY = "medialens.chat.session";
const IMAGE = /\.(jpe?g|png|gif|webp)$/i;
const VIDEO = /\.(mp4|mov|m4v|webm)$/i;
// Credentials are renewed this long before they expire.
const EARLY_RENEWAL_MS = 60_000;

const $ = (id) => document.getElementById(id);

class SignInNeeded extends Error {}

class ChatError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

function randomText(bytes) {
  const values = crypto.getRandomValues(new Uint8Array(bytes));
  return base64Url(values);
}

function base64Url(bytes) {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function jwtClaims(token) {
  const part = token.split(".")[1] || "";
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
}

function redirectUri() {
  return location.origin + location.pathname;
}

// ------------------------------------------------------------------ sign-in (OAuth 2.0 + PKCE)

async function signIn(config) {
  const verifier = randomText(48);
  const state = randomText(16);
  const challenge = base64Url(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
  );
  sessionStorage.setItem(LOGIN_KEY, JSON.stringify({ verifier, state }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: config.cognito.clientId,
    redirect_uri: redirectUri(),
    scope: "openid email",
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  location.assign(`${config.cognito.domain}/oauth2/authorize?${query}`);
}

async function finishSignIn(config, params) {
  const login = JSON.parse(sessionStorage.getItem(LOGIN_KEY) || "null");
  sessionStorage.removeItem(LOGIN_KEY);
  history.replaceState(null, "", redirectUri());
  if (params.get("error")) throw new ChatError(`Sign-in failed: ${params.get("error_description") || params.get("error")}`);
  if (!login || login.state !== params.get("state")) throw new ChatError("Sign-in failed: the answer does not match this page's request. Sign in again.");
  const response = await fetch(`${config.cognito.domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: config.cognito.clientId,
      code: params.get("code"),
      redirect_uri: redirectUri(),
      code_verifier: login.verifier,
    }),
  });
  if (!response.ok) throw new ChatError(`Sign-in failed (${response.status}). Sign in again.`);
  const tokens = await response.json();
  sessionStorage.setItem(TOKENS_KEY, JSON.stringify({ idToken: tokens.id_token }));
}

function idToken() {
  const tokens = JSON.parse(sessionStorage.getItem(TOKENS_KEY) || "null");
  if (!tokens) return null;
  const claims = jwtClaims(tokens.idToken);
  if (claims.exp * 1000 < Date.now() + EARLY_RENEWAL_MS) return null;
  return { token: tokens.idToken, claims };
}

// ------------------------------------------------------------------ credentials (identity pool)

async function cognitoIdentity(config, target, body) {
  const response = await fetch(config.cognito.identityEndpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": `AWSCognitoIdentityService.${target}`,
    },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const code = (answer.__type || response.headers.get("x-amzn-ErrorType") || "").split("#").pop();
    throw new ChatError(answer.message || answer.Message || code, code);
  }
  return answer;
}

async function credentialsFor(config, token) {
  const provider = `cognito-idp.${config.region}.amazonaws.com/${config.cognito.userPoolId}`;
  const logins = { [provider]: token };
  try {
    const { IdentityId } = await cognitoIdentity(config, "GetId", {
      IdentityPoolId: config.cognito.identityPoolId,
      Logins: logins,
    });
    const { Credentials } = await cognitoIdentity(config, "GetCredentialsForIdentity", {
      IdentityId,
      Logins: logins,
    });
    return Credentials;
  } catch (error) {
    // The identity pool maps only the chat group's members to a role; anyone else is
    // refused here, before any call to the bot.
    if (["NotAuthorizedException", "InvalidIdentityPoolConfigurationException", "AccessDeniedException"].includes(error.code)) {
      throw new ChatError("Your account may not use the chat: ask an administrator to add you to the chat group.", error.code);
    }
    throw error;
  }
}

// ------------------------------------------------------------------ the bot (Lex V2 RecognizeText)

class Bot {
  constructor(config) {
    this.config = config;
    this.credentials = null;
    this.client = null;
    this.sessionId = sessionStorage.getItem(SESSION_KEY) || crypto.randomUUID();
    sessionStorage.setItem(SESSION_KEY, this.sessionId);
  }

  async ready() {
    const expires = this.credentials ? this.credentials.Expiration * 1000 : 0;
    if (this.client && expires > Date.now() + EARLY_RENEWAL_MS) return;
    const signedIn = idToken();
    if (!signedIn) throw new SignInNeeded();
    this.credentials = await credentialsFor(this.config, signedIn.token);
    this.client = new AwsClient({
      accessKeyId: this.credentials.AccessKeyId,
      secretAccessKey: this.credentials.SecretKey,
      sessionToken: this.credentials.SessionToken,
      service: "lex",
      region: this.config.region,
      retries: 2,
    });
  }

  async ask(text) {
    await this.ready();
    const { botId, botAliasId, localeId, lexEndpoint } = this.config;
    const path = [
      "bots", botId, "botAliases", botAliasId, "botLocales", localeId, "sessions", this.sessionId, "text",
    ].map(encodeURIComponent).join("/");
    const response = await this.client.fetch(`${lexEndpoint}/${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text }),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const code = response.headers.get("x-amzn-ErrorType") || String(response.status);
      throw new ChatError(answer.message || `The bot did not answer (${code}).`, code.split(":")[0]);
    }
    return answer;
  }
}

// ------------------------------------------------------------------ the page

function answerOf(response) {
  const texts = [];
  const cards = [];
  for (const message of response.messages || []) {
    if (message.contentType === "ImageResponseCard") cards.push(message.imageResponseCard);
    else if (message.content) texts.push(message.content);
  }
  const attributes = (response.sessionState || {}).sessionAttributes || {};
  let links = [];
  try {
    links = JSON.parse(attributes[LINKS_ATTRIBUTE] || "[]");
  } catch {
    links = [];
  }
  const state = ((response.sessionState || {}).intent || {}).state;
  return { who: "bot", texts, cards, links, failed: state === "Failed" };
}

function mediaOf(links) {
  const list = document.createElement("div");
  list.className = "media";
  for (const link of links) {
    if (!link.file) continue;
    const name = link.media_id.split("/").pop();
    const figure = document.createElement("figure");
    let preview;
    if (VIDEO.test(link.media_id)) {
      preview = document.createElement("video");
      preview.src = link.file;
      preview.preload = "metadata";
      preview.controls = true;
      preview.muted = true;
      preview.playsInline = true;
    } else if (IMAGE.test(link.media_id)) {
      preview = document.createElement("img");
      preview.src = link.file;
      preview.alt = name;
      preview.loading = "lazy";
      preview.decoding = "async";
    } else {
      continue;
    }
    const anchor = document.createElement("a");
    anchor.href = link.file;
    anchor.target = "_blank";
    anchor.rel = "noopener noreferrer";
    anchor.append(preview);
    const caption = document.createElement("figcaption");
    caption.textContent = name;
    caption.title = link.media_id;
    figure.append(anchor, caption);
    list.append(figure);
  }
  return list.childElementCount ? list : null;
}

function cardOf(card, onPress) {
  const box = document.createElement("div");
  box.className = "card";
  const title = document.createElement("div");
  title.className = "card-title";
  title.textContent = card.title;
  box.append(title);
  if (card.subtitle) {
    const subtitle = document.createElement("div");
    subtitle.className = "card-subtitle";
    subtitle.textContent = card.subtitle;
    box.append(subtitle);
  }
  const buttons = document.createElement("div");
  buttons.className = "buttons";
  for (const button of card.buttons || []) {
    const element = document.createElement("button");
    element.type = "button";
    element.textContent = button.text;
    element.dataset.value = button.value;
    element.addEventListener("click", () => onPress(button.text, button.value));
    buttons.append(element);
  }
  box.append(buttons);
  return box;
}

class Page {
  constructor(config) {
    this.config = config;
    this.bot = new Bot(config);
    this.history = JSON.parse(sessionStorage.getItem(HISTORY_KEY) || "[]");
    this.busy = false;
  }

  show(entry) {
    const item = document.createElement("li");
    item.className = `turn ${entry.who}${entry.failed ? " failed" : ""}`;
    for (const text of entry.texts) {
      const paragraph = document.createElement("p");
      paragraph.textContent = text;
      item.append(paragraph);
    }
    const media = mediaOf(entry.links || []);
    if (media) item.append(media);
    for (const card of entry.cards || []) item.append(cardOf(card, (text, value) => this.send(value, text)));
    $("transcript").append(item);
    item.scrollIntoView({ block: "end" });
  }

  remember(entry) {
    this.history.push(entry);
    sessionStorage.setItem(HISTORY_KEY, JSON.stringify(this.history.slice(-100)));
    this.show(entry);
  }

  async send(value, shown = value) {
    if (this.busy || !value.trim()) return;
    this.busy = true;
    const form = $("ask");
    for (const element of form.elements) element.disabled = true;
    $("problem").hidden = true;
    this.remember({ who: "you", texts: [shown] });
    try {
      this.remember(answerOf(await this.bot.ask(value)));
    } catch (error) {
      if (error instanceof SignInNeeded) {
        this.signedOut();
      } else {
        this.problem(error.message);
      }
    } finally {
      this.busy = false;
      for (const element of form.elements) element.disabled = false;
      $("question").focus();
    }
  }

  problem(message) {
    $("problem").textContent = message;
    $("problem").hidden = false;
  }

  signedOut() {
    $("sign-in").hidden = false;
    $("ask").hidden = true;
    $("sign-out").hidden = true;
  }

  signedIn(claims) {
    $("sign-in").hidden = true;
    $("ask").hidden = false;
    $("sign-out").hidden = false;
    $("who").textContent = claims.email || claims["cognito:username"] || "";
    for (const entry of this.history) this.show(entry);
  }

  signOut() {
    for (const key of [TOKENS_KEY, HISTORY_KEY, SESSION_KEY]) sessionStorage.removeItem(key);
    const query = new URLSearchParams({ client_id: this.config.cognito.clientId, logout_uri: redirectUri() });
    location.assign(`${this.config.cognito.domain}/logout?${query}`);
  }
}

async function main() {
  const config = await (await fetch("config.json", { cache: "no-store" })).json();
  if (config.standIn) {
    $("stand-in").textContent = config.standIn;
    $("stand-in").hidden = false;
  }
  const page = new Page(config);
  $("sign-in-button").addEventListener("click", () => signIn(config));
  $("sign-out").addEventListener("click", () => page.signOut());
  $("ask").addEventListener("submit", (event) => {
    event.preventDefault();
    const question = $("question");
    const text = question.value;
    question.value = "";
    page.send(text);
  });
  const params = new URLSearchParams(location.search);
  try {
    if (params.has("code") || params.has("error")) await finishSignIn(config, params);
  } catch (error) {
    page.problem(error.message);
  }
  const signedIn = idToken();
  if (!signedIn) {
    page.signedOut();
  } else {
    page.signedIn(signedIn.claims);
    try {
      await page.bot.ready();
    } catch (error) {
      if (error instanceof SignInNeeded) {
        page.signedOut();
      } else {
        // Signed in, but not allowed to chat (or the identity pool failed): say why.
        $("ask").hidden = true;
        page.problem(error.message);
      }
    }
  }
  document.body.dataset.ready = "true";
}

main().catch((error) => {
  const problem = $("problem");
  problem.textContent = `The chat could not start: ${error.message}`;
  problem.hidden = false;
});
