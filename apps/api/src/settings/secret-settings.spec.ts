import { isSecretSettingKey } from './secret-settings';

describe('isSecretSettingKey', () => {
  it.each([
    'smtp.password',
    'oidc.client_secret',
    'relay.api-key',
    'webhook.TOKEN',
    'ldap.bind_credentials',
    'secret',
  ])('treats %s as a secret', (key) => expect(isSecretSettingKey(key)).toBe(true));

  it.each(['registration.policy', 'ui.banner', 'keyboard.layout', 'tokens_per_day', 'monkey'])(
    'treats %s as an ordinary setting',
    (key) => expect(isSecretSettingKey(key)).toBe(false),
  );
});
