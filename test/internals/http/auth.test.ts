import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Authenticator } from '../../../src/http/auth.js';

describe('Authenticator', () => {
  test('checks scope by scope, and only scopes that have a token', () => {
    const auth = new Authenticator({ publishToken: 'p', readToken: '', consumeToken: '', adminToken: '' });
    assert.equal(auth.check('', 'read'), null, 'reads are open without a read token');
    assert.equal(auth.check('Bearer p', 'publish'), null);
    assert.equal(auth.check('bearer   p', 'publish'), null, 'the scheme is case-insensitive');
    assert.equal(auth.check('Bearer q', 'publish')?.code, 'unauthorized');
    assert.equal(auth.check('Bearer pp', 'publish')?.code, 'unauthorized');
  });

  test('the token also comes as shippers send it: ApiKey, or Basic with the token as the password', () => {
    const auth = new Authenticator({ publishToken: 'p-secret', readToken: 'r-secret', consumeToken: '', adminToken: '' });
    const basic = (credentials: string): string => `Basic ${Buffer.from(credentials).toString('base64')}`;
    assert.equal(auth.check('ApiKey p-secret', 'publish'), null);
    assert.equal(auth.check(basic('elastic:p-secret'), 'publish'), null, 'any user name');
    assert.equal(auth.check(basic(':p-secret'), 'publish'), null, 'or none');
    assert.equal(auth.check(basic('p-secret:'), 'publish')?.code, 'unauthorized', 'the token as the user name is not the password');
    assert.equal(auth.check(basic('p-secret'), 'publish')?.code, 'unauthorized', 'no colon, no password');
    assert.equal(auth.check(basic('user:wrong'), 'publish')?.code, 'unauthorized');
    assert.equal(auth.check(basic('user:r-secret'), 'publish')?.code, 'forbidden', 'the other scope, whatever the form');
    assert.equal(auth.check('ApiKey', 'publish')?.code, 'unauthorized');
    assert.equal(auth.check('Bearer pp', 'publish')?.code, 'unauthorized', 'a longer token is not a prefix match');
  });

  test('a token of the other scope is forbidden, not unknown', () => {
    const auth = new Authenticator({ publishToken: 'p', readToken: 'r', consumeToken: '', adminToken: '' });
    assert.equal(auth.check('Bearer r', 'publish')?.code, 'forbidden');
    assert.equal(auth.check('Bearer p', 'read')?.code, 'forbidden');
    assert.equal(auth.check('Bearer r', 'read'), null);
  });

  test('deletion is never open: without an admin token it is off, and no other token opens it', () => {
    const off = new Authenticator({ publishToken: '', readToken: '', consumeToken: '', adminToken: '' });
    assert.equal(off.check('', 'admin')?.code, 'forbidden');
    const on = new Authenticator({ publishToken: 'p', readToken: 'r', consumeToken: '', adminToken: 'a' });
    assert.equal(on.check('Bearer a', 'admin'), null);
    assert.equal(on.check('Bearer p', 'admin')?.code, 'forbidden');
    assert.equal(on.check('Bearer r', 'admin')?.code, 'forbidden');
    assert.equal(on.check('', 'admin')?.code, 'unauthorized');
    assert.equal(on.check('Bearer a', 'publish')?.code, 'forbidden', 'and the admin token does not publish');
  });
});
