//! API tokens as JWTs: HS256 under the server's secret, through `jsonwebtoken`.
//!
//! The algorithm is pinned twice: the validation accepts no other `alg`, and the crypto
//! provider below signs and verifies no other, so a header naming `none`, `HS384` or `RS256`
//! is refused before any signature is computed. Signatures are compared in constant time by
//! `hmac`'s `verify_slice`. The payload is the MetaApi-style [`Claims`]; tokens carry no
//! `exp`, because a token lives until it is revoked.

use drawbridge_model::{TokenId, UserId};
use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The payload of an API token.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Claims {
    pub(super) token_id: TokenId,
    pub(super) user_id: UserId,
    pub(super) iat: i64,
    pub(super) access_rules: Vec<AccessRule>,
}

/// MetaApi's access-rule shape, so tools that inspect tokens read them as MetaApi's.
#[derive(Serialize, Deserialize)]
pub(super) struct AccessRule {
    pub(super) id: String,
    pub(super) resources: Vec<String>,
}

/// HS256 JWTs under the server's secret.
pub(super) struct Jwt {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl Jwt {
    /// Fails only for an empty secret.
    pub(super) fn new(secret: &[u8]) -> jsonwebtoken::errors::Result<Self> {
        // Err means a provider is installed already (another `Tokens` in this process, or a
        // library's): fine, since the validation accepts HS256 only whoever computes it.
        let _ = HS256_ONLY.install_default();
        let mut validation = Validation::new(Algorithm::HS256);
        // A token lives until it is revoked: no `exp` to require, no audience to match.
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            validation,
        })
    }

    pub(super) fn mint(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signs any claims that serialize, and these are plain fields")
    }

    /// The claims of a token signed with this secret under HS256; `None` for anything else.
    pub(super) fn verify(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// The HS256 half of a `jsonwebtoken` crypto provider, on the `hmac` and `sha2` the server
/// links anyway. Why not one of the crate's backend features: `rust_crypto` adds 30 crates
/// (RSA, P-256, P-384, Ed25519, big-integer arithmetic and a second generation of `hmac` and
/// `sha2`; counted with `cargo tree`) that HS256 never calls, and `aws_lc_rs` compiles AWS-LC
/// from C. The factories refuse every other algorithm: the second pin behind `Validation`.
static HS256_ONLY: CryptoProvider = CryptoProvider {
    signer_factory: |alg, key| Ok(Box::new(Hs256::new(alg, key.family(), key.as_bytes())?)),
    verifier_factory: |alg, key| {
        Ok(Box::new(Hs256::new(
            alg,
            key.family(),
            key.try_get_as_bytes()?,
        )?))
    },
    key_utils: KeyUtils::new_unimplemented(),
};

/// HMAC-SHA256 keyed with the secret, as a `jsonwebtoken` signer and verifier.
struct Hs256(Hmac<Sha256>);

impl Hs256 {
    fn new(
        alg: &Algorithm,
        family: AlgorithmFamily,
        key: &[u8],
    ) -> jsonwebtoken::errors::Result<Self> {
        if *alg != Algorithm::HS256 || family != AlgorithmFamily::Hmac {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
        let mac = Hmac::new_from_slice(key).map_err(|_| ErrorKind::InvalidKeyFormat)?;
        Ok(Self(mac))
    }
}

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let mut mac = self.0.clone();
        mac.update(msg);
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        let mut mac = self.0.clone();
        mac.update(msg);
        // Constant time: `hmac` compares through `subtle`.
        mac.verify_slice(signature)
            .map_err(|_| signature::Error::new())
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A secret and a token minted with it the way the server did before it used
    /// `jsonwebtoken` (header with `alg` first); the same computation reproduces a token of
    /// that build byte for byte from its data dir's secret. Tokens in clients' hands must
    /// keep verifying.
    const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    /// `{"alg":"HS256","typ":"JWT"}`, the old header's field order.
    const HS256_HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
    /// Token `00112233445566ff` of `user-1`, issued at 1796690872, every account.
    const PAYLOAD: &str = concat!(
        "eyJ0b2tlbklkIjoiMDAxMTIyMzM0NDU1NjZmZiIsInVzZXJJZCI6InVzZXItMSIsImlhdCI6MTc5",
        "NjY5MDg3MiwiYWNjZXNzUnVsZXMiOlt7ImlkIjoibWV0YWFwaS1yZXN0LWFwaSIsInJlc291cmNl",
        "cyI6WyIqOnVzZXItMToqIl19XX0",
    );
    const HS256_SIGNATURE: &str = "pp4s1LHz2yEgJrHsgHgTKAkwU53aFKLeOIJP8RBWLZ8";

    fn jwt() -> Jwt {
        Jwt::new(SECRET.as_bytes()).unwrap()
    }

    #[test]
    fn earlier_tokens_still_verify() {
        let token = format!("{HS256_HEADER}.{PAYLOAD}.{HS256_SIGNATURE}");
        let claims = jwt().verify(&token).expect("an old token verifies");
        assert_eq!(
            (claims.token_id.as_str(), claims.user_id.as_str()),
            ("00112233445566ff", "user-1")
        );
        assert_eq!(claims.iat, 1_796_690_872);
    }

    #[test]
    fn minted_tokens_carry_the_same_claims_bytes() {
        let claims = Claims {
            token_id: "00112233445566ff".into(),
            user_id: "user-1".into(),
            iat: 1_796_690_872,
            access_rules: vec![AccessRule {
                id: "metaapi-rest-api".into(),
                resources: vec!["*:user-1:*".into()],
            }],
        };
        let token = jwt().mint(&claims);
        let parts: Vec<&str> = token.split('.').collect();
        // `{"typ":"JWT","alg":"HS256"}`: the same fields, in `jsonwebtoken`'s order.
        assert_eq!(parts[0], "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9");
        assert_eq!(parts[1], PAYLOAD);
        assert_eq!(jwt().verify(&token).unwrap().token_id, "00112233445566ff");
    }

    #[test]
    fn only_hs256_under_this_secret_verifies() {
        let refused = [
            // `{"alg":"none","typ":"JWT"}`, unsigned and with the HS256 signature.
            format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{PAYLOAD}."),
            format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{PAYLOAD}.{HS256_SIGNATURE}"),
            // HS384 and HS512, correctly signed with the same secret.
            format!(
                "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.{PAYLOAD}.\
                 kjt3ZxBrbj9ZzuBsbLgEbBhcsDA8Ivpb8JiV937wslYjadGZtKe1UGgouC07uTpX"
            ),
            format!(
                "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.{PAYLOAD}.1FOzKVkuL-7Mo6FXhEYzgtffeH35Ja3\
                 Ec8a-RhnUAxSUwSQKBn0fo0Af1owo9GhuLRw1yYh2VdVzrVT6b8BQ3w"
            ),
            // `{"alg":"RS256","typ":"JWT"}` over the HS256 signature (key confusion).
            format!("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.{PAYLOAD}.{HS256_SIGNATURE}"),
            // HS256 with a signature that is not this secret's.
            format!("{HS256_HEADER}.{PAYLOAD}.{}", "A".repeat(43)),
            format!("{HS256_HEADER}.{PAYLOAD}.{}", &HS256_SIGNATURE[1..]),
            format!("{HS256_HEADER}.{PAYLOAD}X.{HS256_SIGNATURE}"),
        ];
        for token in refused {
            assert!(jwt().verify(&token).is_none(), "{token}");
        }
        let other = Jwt::new(&SECRET.as_bytes()[1..]).unwrap();
        let token = format!("{HS256_HEADER}.{PAYLOAD}.{HS256_SIGNATURE}");
        assert!(other.verify(&token).is_none(), "another secret");
    }
}
