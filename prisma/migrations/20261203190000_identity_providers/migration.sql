-- Room for single sign-on (issue 12 item 2): the client's OIDC flow (POST /api/oidc/auth, then
-- polling GET /api/oidc/auth-query) needs providers, the link from a provider's subject to a user,
-- and the pending sign-ins the poll reads. Nothing uses these yet: until a provider can be
-- configured the OIDC calls answer that none is (docs/client-api.md §2.2).
CREATE TABLE "identity_providers" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" VARCHAR(64) NOT NULL,
    "kind" VARCHAR(16) NOT NULL DEFAULT 'oidc',
    "issuer" TEXT NOT NULL,
    "client_id" VARCHAR(255) NOT NULL,
    "client_secret_sealed" BYTEA,
    "scopes" VARCHAR(255) NOT NULL DEFAULT 'openid email profile',
    "enabled" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "identity_providers_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "identity_providers_name_key" ON "identity_providers"("name");

CREATE TABLE "user_identities" (
    "provider_id" UUID NOT NULL,
    "subject" VARCHAR(255) NOT NULL,
    "user_id" UUID NOT NULL,
    "email" VARCHAR(254),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_login_at" TIMESTAMPTZ(3),

    CONSTRAINT "user_identities_pkey" PRIMARY KEY ("provider_id","subject")
);

CREATE INDEX "user_identities_user_id_idx" ON "user_identities"("user_id");

ALTER TABLE "user_identities" ADD CONSTRAINT "user_identities_provider_id_fkey" FOREIGN KEY ("provider_id") REFERENCES "identity_providers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "user_identities" ADD CONSTRAINT "user_identities_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "oidc_sign_ins" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "code_hash" BYTEA NOT NULL,
    "state_hash" BYTEA NOT NULL,
    "provider_id" UUID NOT NULL,
    "pkce_verifier_sealed" BYTEA NOT NULL,
    "client_id" VARCHAR(64),
    "client_uuid" VARCHAR(128),
    "client_os" VARCHAR(64),
    "client_type" VARCHAR(32),
    "client_name" VARCHAR(255),
    "session_id" UUID,
    "access_token_sealed" BYTEA,
    "error" VARCHAR(512),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "oidc_sign_ins_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "oidc_sign_ins_code_hash_key" ON "oidc_sign_ins"("code_hash");
CREATE UNIQUE INDEX "oidc_sign_ins_state_hash_key" ON "oidc_sign_ins"("state_hash");
CREATE INDEX "oidc_sign_ins_expires_at_idx" ON "oidc_sign_ins"("expires_at");

ALTER TABLE "oidc_sign_ins" ADD CONSTRAINT "oidc_sign_ins_provider_id_fkey" FOREIGN KEY ("provider_id") REFERENCES "identity_providers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
