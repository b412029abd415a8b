// Interop peer for engine/interop: drives ts-mls clients on behalf of a Go
// test. It reads one JSON request per line on stdin and writes one JSON
// response per line on stdout, in order:
//
//   request:  {"id": 7, "op": "commit", "client": "alice", ...}
//   response: {"id": 7, "ok": true, ...} or {"id": 7, "ok": false, "error": "..."}
//
// Byte strings travel as standard base64 (what Go's encoding/json does with
// []byte). Every client holds at most one group. Operations:
//
//   new_client   {client, suite, identity, x509_chain?, sign_key?, public_key?}
//                                               -> {}  (with x509_chain, a
//                client presenting those DER certificates and signing with
//                sign_key, public_key in ts-mls's encodings)
//   add_psk      {client, psk_id, psk_secret}   -> {}  (an external PSK)
//   key_package  {client, default_keys}         -> {key_package}  (MLSMessage)
//   create_group {client, group_id, required_credentials?}
//                                               -> {}  (required_credentials:
//                a required_capabilities extension naming these types)
//   commit       {client, add: [MLSMessage], remove: [leaf], psk: [psk_id],
//                 public, ratchet_tree}
//                                               -> {commit, welcome?, tree?}
//                (without ratchet_tree the Welcome leaves the tree out and
//                tree carries it)
//   join         {client, welcome, tree?}       -> {}  (tree: out of band)
//   group_info   {client, default_encoding, no_tree}
//                                               -> {group_info, tree?}
//                (MLSMessage with the external_pub extension and, unless
//                no_tree, ratchet_tree; with no_tree, tree carries it)
//   external_join {client, group_info, tree?}   -> {commit}  (a new group
//                joined by external commit)
//   process      {client, message}              -> {kind, data?}
//                kind: "application" | "proposal" | "commit"
//   encrypt      {client, data}                 -> {message}
//   state        {client, exporter_label, exporter_context, exporter_length}
//                -> {epoch, epoch_authenticator, exporter, own_index, active,
//                    members: [{index, identity, certificate}]}  (identity
//                of a basic credential; certificate: the first of an x509
//                credential)
//
// Diagnostics go to stderr; stdout carries only responses.
//
// ECDSA signature keys: ts-mls 1.6.4 generates them with @noble/curves'
// getPublicKey, whose default is the compressed SEC1 point (33 bytes for
// P-256), while RFC 9420 §5.1.1 requires the uncompressed point. For the
// NIST suites the peer therefore generates the signature key pair itself and
// hands it to ts-mls (generateKeyPackageWithKey) with the uncompressed public
// key; ts-mls signs and verifies with it unchanged. key_package with
// default_keys set uses ts-mls's own key generation instead, so a test can
// show what the engine does with the library's default keys.
//
// ExternalPub: RFC 9420 §12.4.3.2 makes the external_pub extension's data an
// ExternalPub struct, i.e. the HPKE public key as opaque<V> with its own
// length prefix. ts-mls 1.6.4 writes and reads the bare key instead. The peer
// therefore builds GroupInfos with the RFC encoding itself (group_info with
// default_encoding set uses ts-mls's own), and external_join hands ts-mls the
// bare key of a received GroupInfo (see externalPubAsTSMLS).
//
// PSKs: ts-mls 1.6.4's processMessage ignores the PSK index it is given for
// PrivateMessages, so a private commit with a PSK fails; the peer calls
// processPublicMessage and processPrivateMessage directly.

import { createInterface } from "node:readline";
import {
  ciphersuites,
  createApplicationMessage,
  createCommit,
  createGroup,
  createGroupInfoWithExternalPubAndRatchetTree,
  decodeMlsMessage,
  defaultCapabilities,
  defaultLifetime,
  encodeMlsMessage,
  generateKeyPackage,
  generateKeyPackageWithKey,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  joinGroupExternal,
  makePskIndex,
  mlsExporter,
  processPrivateMessage,
  processPublicMessage,
  zeroOutUint8Array,
} from "ts-mls";
import { makeKeyPackageRef } from "ts-mls/keyPackage.js";
import { createGroupInfo } from "ts-mls/createCommit.js";
import { decodeRatchetTree, encodeRatchetTree } from "ts-mls/ratchetTree.js";
import { encodeRequiredCapabilities } from "ts-mls/requiredCapabilities.js";
import { composeBufferEncoders, encode } from "ts-mls/codec/tlsEncoder.js";
import { groupInfoTBSEncoder } from "ts-mls/groupInfo.js";
import { decodeVarLenData, varLenDataEncoder } from "ts-mls/codec/variableLength.js";
import { p256, p384, p521 } from "@noble/curves/nist.js";

// ECDSA curves by ts-mls signature algorithm name.
const ecdsaCurves = { P256: p256, P384: p384, P521: p521 };

/** @type {Map<string, {impl: any, credential: any, keyPackages: any[], state: any}>} */
const clients = new Map();

const b64 = (bytes) => Buffer.from(bytes).toString("base64");
const unb64 = (s) => new Uint8Array(Buffer.from(s ?? "", "base64"));

function suiteName(id) {
  for (const [name, value] of Object.entries(ciphersuites)) {
    if (value === id) return name;
  }
  throw new Error(`unknown cipher suite ${id}`);
}

function client(name) {
  const c = clients.get(name);
  if (c === undefined) throw new Error(`no client ${name}`);
  return c;
}

function group(name) {
  const c = client(name);
  if (c.state === undefined) throw new Error(`client ${name} has no group`);
  return c;
}

function decode(bytes, want) {
  const decoded = decodeMlsMessage(bytes, 0);
  if (decoded === undefined) throw new Error(`cannot decode ${want}`);
  const [msg, used] = decoded;
  if (used !== bytes.length) throw new Error(`${want}: ${bytes.length - used} trailing bytes`);
  if (want !== undefined && msg.wireformat !== want) throw new Error(`got ${msg.wireformat}, want ${want}`);
  return msg;
}

function wipe(consumed) {
  for (const secret of consumed ?? []) zeroOutUint8Array(secret);
}

function members(state) {
  const out = [];
  state.ratchetTree.forEach((node, i) => {
    if (i % 2 === 0 && node !== undefined && node.nodeType === "leaf") {
      const cred = node.leaf.credential;
      out.push({
        index: i / 2,
        identity: cred.credentialType === "basic" ? b64(cred.identity) : "",
        certificate: cred.credentialType === "x509" ? b64(cred.certificates[0]) : "",
      });
    }
  });
  return out;
}

// newKeyPackage generates a KeyPackage with a fresh signature key pair;
// see the note on ECDSA keys at the top.
async function newKeyPackage(c, defaultKeys) {
  if (c.keys !== undefined) {
    return generateKeyPackageWithKey(c.credential, defaultCapabilities(), defaultLifetime, [], c.keys, c.impl);
  }
  if (c.curve === undefined || defaultKeys) {
    return generateKeyPackage(c.credential, defaultCapabilities(), defaultLifetime, [], c.impl);
  }
  const signKey = c.curve.utils.randomSecretKey();
  const keys = { signKey, publicKey: c.curve.getPublicKey(signKey, false) };
  return generateKeyPackageWithKey(c.credential, defaultCapabilities(), defaultLifetime, [], keys, c.impl);
}

const encodeVarLen = encode(varLenDataEncoder);

// tree decodes an out-of-band ratchet tree, or returns undefined.
function tree(b64tree) {
  if (b64tree === undefined || b64tree === "") return undefined;
  const bytes = unb64(b64tree);
  const decoded = decodeRatchetTree(bytes, 0);
  if (decoded === undefined || decoded[1] !== bytes.length) throw new Error("cannot decode the ratchet tree");
  return decoded[0];
}

// externalPubAsTSMLS adapts an RFC 9420 GroupInfo for ts-mls's external join,
// which reads the external_pub extension as the bare key (see the note at the
// top). It returns the GroupInfo with the bare key and a cipher suite whose
// signature check, when asked about the adapted GroupInfo, checks the
// received one instead: the signature is still verified over exactly the
// bytes that were signed.
function externalPubAsTSMLS(gi, impl) {
  const ext = gi.extensions.find((e) => e.extensionType === "external_pub");
  if (ext === undefined) return [gi, impl];
  const decoded = decodeVarLenData(ext.extensionData, 0);
  if (decoded === undefined || decoded[1] !== ext.extensionData.length) {
    throw new Error("external_pub is not an RFC 9420 ExternalPub");
  }
  const extensions = gi.extensions.map((e) => (e === ext ? { ...e, extensionData: decoded[0] } : e));
  const adapted = { ...gi, extensions };
  const signContent = (info) =>
    Buffer.from(encodeSignContent([new TextEncoder().encode("MLS 1.0 GroupInfoTBS"), encode(groupInfoTBSEncoder)(info)]));
  const adaptedContent = signContent(adapted);
  const receivedContent = new Uint8Array(signContent(gi));
  const verify = (pub, msg, sig) =>
    impl.signature.verify(pub, adaptedContent.equals(Buffer.from(msg)) ? receivedContent : msg, sig);
  return [adapted, { ...impl, signature: { ...impl.signature, verify } }];
}

// encodeSignContent encodes SignContent {opaque label<V>; opaque content<V>}.
const encodeSignContent = encode(composeBufferEncoders([varLenDataEncoder, varLenDataEncoder]));

const ops = {
  async new_client(req) {
    if (clients.has(req.client)) throw new Error(`client ${req.client} exists`);
    const impl = await getCiphersuiteImpl(getCiphersuiteFromName(suiteName(req.suite)));
    const x509 = req.x509_chain !== undefined && req.x509_chain.length > 0;
    clients.set(req.client, {
      impl,
      curve: ecdsaCurves[getCiphersuiteFromName(suiteName(req.suite)).signature],
      credential: x509
        ? { credentialType: "x509", certificates: req.x509_chain.map(unb64) }
        : { credentialType: "basic", identity: unb64(req.identity) },
      keys: x509 ? { signKey: unb64(req.sign_key), publicKey: unb64(req.public_key) } : undefined,
      keyPackages: [],
      psks: {},
      state: undefined,
    });
    return {};
  },

  async add_psk(req) {
    client(req.client).psks[req.psk_id] = unb64(req.psk_secret);
    return {};
  },

  async key_package(req) {
    const c = client(req.client);
    const kp = await newKeyPackage(c, Boolean(req.default_keys));
    c.keyPackages.push(kp);
    const msg = encodeMlsMessage({ version: "mls10", wireformat: "mls_key_package", keyPackage: kp.publicPackage });
    return { key_package: b64(msg) };
  },

  async create_group(req) {
    const c = client(req.client);
    if (c.state !== undefined) throw new Error(`client ${req.client} already has a group`);
    const kp = await newKeyPackage(c, false);
    const extensions = [];
    if (req.required_credentials !== undefined && req.required_credentials.length > 0) {
      const rc = { extensionTypes: [], proposalTypes: [], credentialTypes: req.required_credentials };
      extensions.push({ extensionType: "required_capabilities", extensionData: encodeRequiredCapabilities(rc) });
    }
    c.state = await createGroup(unb64(req.group_id), kp.publicPackage, kp.privatePackage, extensions, c.impl);
    return {};
  },

  async commit(req) {
    const c = group(req.client);
    const proposals = [];
    for (const kp of req.add ?? []) {
      const msg = decode(unb64(kp), "mls_key_package");
      proposals.push({ proposalType: "add", add: { keyPackage: msg.keyPackage } });
    }
    for (const leaf of req.remove ?? []) {
      proposals.push({ proposalType: "remove", remove: { removed: leaf } });
    }
    for (const id of req.psk ?? []) {
      const pskNonce = c.impl.rng.randomBytes(c.impl.kdf.size);
      proposals.push({ proposalType: "psk", psk: { preSharedKeyId: { psktype: "external", pskId: unb64(id), pskNonce } } });
    }
    const res = await createCommit(
      { state: c.state, cipherSuite: c.impl, pskIndex: makePskIndex(c.state, c.psks) },
      {
        wireAsPublicMessage: Boolean(req.public),
        ratchetTreeExtension: Boolean(req.ratchet_tree),
        extraProposals: proposals,
      },
    );
    c.state = res.newState;
    wipe(res.consumed);
    const out = { commit: b64(encodeMlsMessage(res.commit)) };
    if (res.welcome !== undefined) {
      out.welcome = b64(encodeMlsMessage({ version: "mls10", wireformat: "mls_welcome", welcome: res.welcome }));
      if (!req.ratchet_tree) out.tree = b64(encodeRatchetTree(c.state.ratchetTree));
    }
    return out;
  },

  async join(req) {
    const c = client(req.client);
    if (c.state !== undefined) throw new Error(`client ${req.client} already has a group`);
    const welcome = decode(unb64(req.welcome), "mls_welcome").welcome;
    for (const [i, kp] of c.keyPackages.entries()) {
      const ref = b64(await makeKeyPackageRef(kp.publicPackage, c.impl.hash));
      if (!welcome.secrets.some((s) => b64(s.newMember) === ref)) continue;
      c.state = await joinGroup(welcome, kp.publicPackage, kp.privatePackage, makePskIndex(undefined, c.psks), c.impl, tree(req.tree));
      c.keyPackages.splice(i, 1);
      wipe([kp.privatePackage.initPrivateKey]);
      return {};
    }
    throw new Error("welcome is for none of this client's key packages");
  },

  async group_info(req) {
    const c = group(req.client);
    const st = c.state;
    let gi;
    if (req.default_encoding) {
      gi = await createGroupInfoWithExternalPubAndRatchetTree(st, [], c.impl);
    } else {
      const pair = await c.impl.hpke.deriveKeyPair(st.keySchedule.externalSecret);
      const externalPub = encodeVarLen(await c.impl.hpke.exportPublicKey(pair.publicKey));
      const extensions = [{ extensionType: "external_pub", extensionData: externalPub }];
      if (!req.no_tree) extensions.push({ extensionType: "ratchet_tree", extensionData: encodeRatchetTree(st.ratchetTree) });
      gi = await createGroupInfo(st.groupContext, st.confirmationTag, st, extensions, c.impl);
    }
    const out = { group_info: b64(encodeMlsMessage({ version: "mls10", wireformat: "mls_group_info", groupInfo: gi })) };
    if (req.no_tree) out.tree = b64(encodeRatchetTree(st.ratchetTree));
    return out;
  },

  async external_join(req) {
    const c = client(req.client);
    if (c.state !== undefined) throw new Error(`client ${req.client} already has a group`);
    const [gi, impl] = externalPubAsTSMLS(decode(unb64(req.group_info), "mls_group_info").groupInfo, c.impl);
    const kp = await newKeyPackage(c, false);
    const res = await joinGroupExternal(gi, kp.publicPackage, kp.privatePackage, false, impl, tree(req.tree));
    c.state = res.newState;
    const msg = encodeMlsMessage({ version: "mls10", wireformat: "mls_public_message", publicMessage: res.publicMessage });
    return { commit: b64(msg) };
  },

  async process(req) {
    const c = group(req.client);
    const msg = decode(unb64(req.message));
    if (msg.wireformat !== "mls_public_message" && msg.wireformat !== "mls_private_message") {
      throw new Error(`cannot process a ${msg.wireformat}`);
    }
    let kind = "application";
    const record = (incoming) => {
      kind = incoming.kind;
      return "accept";
    };
    // processMessage would drop the PSK index for PrivateMessages (ts-mls
    // 1.6.4 passes emptyPskIndex there), so call the two functions directly.
    const psks = makePskIndex(c.state, c.psks);
    const res =
      msg.wireformat === "mls_public_message"
        ? await processPublicMessage(c.state, msg.publicMessage, psks, c.impl, record)
        : await processPrivateMessage(c.state, msg.privateMessage, psks, c.impl, record);
    c.state = res.newState;
    wipe(res.consumed);
    if (res.kind === "applicationMessage") return { kind: "application", data: b64(res.message) };
    return { kind };
  },

  async encrypt(req) {
    const c = group(req.client);
    const res = await createApplicationMessage(c.state, unb64(req.data), c.impl);
    c.state = res.newState;
    wipe(res.consumed);
    const msg = encodeMlsMessage({ version: "mls10", wireformat: "mls_private_message", privateMessage: res.privateMessage });
    return { message: b64(msg) };
  },

  async state(req) {
    const c = group(req.client);
    const s = c.state;
    const out = {
      epoch: Number(s.groupContext.epoch),
      epoch_authenticator: b64(s.keySchedule.epochAuthenticator),
      own_index: s.privatePath.leafIndex,
      active: s.groupActiveState.kind === "active",
      members: members(s),
    };
    if (req.exporter_length > 0) {
      out.exporter = b64(
        await mlsExporter(s.keySchedule.exporterSecret, req.exporter_label, unb64(req.exporter_context), req.exporter_length, c.impl),
      );
    }
    return out;
  },
};

async function handle(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (err) {
    return { id: -1, ok: false, error: `bad request: ${err.message}` };
  }
  const op = Object.hasOwn(ops, req.op) ? ops[req.op] : undefined;
  if (op === undefined) return { id: req.id, ok: false, error: `unknown op ${req.op}` };
  try {
    return { id: req.id, ok: true, ...(await op(req)) };
  } catch (err) {
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { id: req.id, ok: false, error: detail };
  }
}

// Requests are handled one at a time, in order: each op replaces a client's
// state, so running two at once could lose an update.
let queue = Promise.resolve();
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on("line", (line) => {
  if (line.trim() === "") return;
  queue = queue.then(async () => {
    const res = await handle(line);
    process.stdout.write(JSON.stringify(res) + "\n");
  });
});
rl.on("close", () => {
  queue.then(() => process.exit(0));
});
