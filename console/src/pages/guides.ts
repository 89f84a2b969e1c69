import { h } from '../dom';

/**
 * The settings Okta and Entra ID need for this instance, step by step (drawn from
 * docs/okta.md and docs/entra.md, which say more).
 */
export function providerGuides(baseUrl: string): HTMLElement {
  const code = (text: string) => h('code', null, text);
  return h(
    'section',
    { 'aria-labelledby': 'guides-title' },
    h('h2', { id: 'guides-title' }, 'Identity provider settings'),
    h(
      'details',
      { open: true },
      h('summary', null, 'Okta'),
      h(
        'ol',
        null,
        h(
          'li',
          null,
          'In the Okta Admin Console, create an app integration with the App Integration Wizard: SAML 2.0 or SWA (Okta offers no SCIM provisioning on OIDC apps).',
        ),
        h('li', null, 'On the app’s General tab, edit App Settings, set Provisioning to SCIM, and save.'),
        h(
          'li',
          null,
          'On the Provisioning tab, under Settings → Integration, click Edit and fill in: SCIM connector base URL ',
          code(baseUrl),
          '; Unique identifier field for users ',
          code('userName'),
          '; Supported provisioning actions: Push New Users, Push Profile Updates, Push Groups; Authentication Mode: HTTP Header; Authorization (Bearer): a token from above.',
        ),
        h('li', null, 'Test the connector configuration. A 401 means the token is wrong, revoked or expired.'),
        h(
          'li',
          null,
          'Save. Under Provisioning → To App, click Edit and enable Create Users, Update User Attributes and Deactivate Users. Leave Sync Password off.',
        ),
        h('li', null, 'Assign a test user to the app: it appears on the Users page, and the token’s “Last used” changes.'),
      ),
    ),
    h(
      'details',
      null,
      h('summary', null, 'Microsoft Entra ID'),
      h(
        'ol',
        null,
        h(
          'li',
          null,
          'In the Microsoft Entra admin center: Entra ID → Enterprise apps → New application → Create your own application (non-gallery), name it, Create.',
        ),
        h('li', null, 'Open the app’s Provisioning page and choose + New configuration.'),
        h('li', null, 'Tenant URL: ', code(baseUrl), ' (optionally with ', code('?aadOptscim062020'), '); Secret Token: a token from above.'),
        h('li', null, 'Test Connection: Entra reads a random user and Roster answers 200 with none. Then Create.'),
        h('li', null, 'Under Users and groups, assign the users and groups to provision, then Start provisioning.'),
      ),
    ),
  );
}
