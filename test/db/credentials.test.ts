import { CredentialService } from '../../src/domain/credential.service';
import { OrganizationService } from '../../src/domain/organization.service';
import { RevocationFeed } from '../../src/orm/revocation-feed';
import { OrmUnitOfWork } from '../../src/orm/unit-of-work';
import { openTestDatabase } from '../support/database';

/**
 * A server keeps verified tokens in memory while its revocation feed is live; a
 * revocation made by another process (the CLI) must still stop the token at once.
 */
describe('credential cache and revocation feed', () => {
  it('stops a cached token as soon as another process revokes it', async () => {
    const database = await openTestDatabase({ poolMax: 3 });
    // As openRoster does: the embedded database accepts LISTEN but delivers no
    // notifications through its socket, so there the server keeps no cache at all.
    const feed = database.embedded ? undefined : new RevocationFeed(database.url);
    try {
      const uow = new OrmUnitOfWork(database.orm);
      const org = await new OrganizationService(uow).create('cached');
      const server = new CredentialService(uow, undefined, feed);
      const cli = new CredentialService(uow); // another process: no cache, no feed
      await feed?.start();
      if (feed) expect(feed.isLive()).toBe(true);

      const { secret, credential } = await cli.issue({ organizationId: org.id });
      expect(await server.authenticate(secret)).toMatchObject({ credentialId: credential.id });
      expect(await server.authenticate(secret)).toMatchObject({ credentialId: credential.id });

      await cli.revoke(credential.id);
      let refusedAfterMs = -1;
      const started = Date.now();
      while (Date.now() - started < 2_000) {
        if ((await server.authenticate(secret)) === null) {
          refusedAfterMs = Date.now() - started;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(refusedAfterMs).toBeGreaterThanOrEqual(0);
      expect(refusedAfterMs).toBeLessThan(200);
      await server.settle();
    } finally {
      await feed?.stop();
      await database.close();
    }
  });

  it('trusts nothing cached while the feed is down', async () => {
    const database = await openTestDatabase({ poolMax: 3 });
    const feed = new RevocationFeed('postgres://postgres@127.0.0.1:1/nowhere');
    try {
      const uow = new OrmUnitOfWork(database.orm);
      const org = await new OrganizationService(uow).create('uncached');
      const server = new CredentialService(uow, undefined, feed);
      await feed.start();
      expect(feed.isLive()).toBe(false);
      const { secret, credential } = await server.issue({ organizationId: org.id });
      expect(await server.authenticate(secret)).not.toBeNull();
      // Revoked behind the service's back (no notification): it must notice at once.
      await database.orm.em.getConnection().execute('update api_credentials set revoked_at = now() where id = ?', [credential.id]);
      expect(await server.authenticate(secret)).toBeNull();
      await server.settle();
    } finally {
      await feed.stop();
      await database.close();
    }
  });
});
