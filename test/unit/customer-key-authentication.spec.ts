import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { CustomerKeyAuthentication } from '../../lib/auth/customer-key-authentication.js';
import { MessageAuthentication } from '../../lib/auth/message-authentication.js';
import { EsalesArgumentError } from '../../lib/errors/esales-argument.error.js';

// The vector in shared/elevate-v1-api.md (privateKey "private-key", visitor id "user-name").
const VECTOR = {
  privateKey: 'private-key',
  visitorId: 'user-name',
  customerKey: '7d77a563ff5910f5fca63065451920530c427c95bcd014d78c8a6ab41da93dff',
  token: 'df715a9e7c303900fc687d9d2fb6fdd8a2801df6cf66e43e1aa04f03c9d59200',
};

describe('CustomerKeyAuthentication', () => {
  it('matches the documented test vector', () => {
    const auth = new CustomerKeyAuthentication(VECTOR.privateKey, VECTOR.visitorId);
    expect(auth.customerKey).toBe(VECTOR.customerKey);
    expect(auth.token).toBe(VECTOR.token);
  });

  it('derives the customer key from the visitor id alone, so a key rotation keeps it', () => {
    const before = new CustomerKeyAuthentication('old-key', 'visitor-42');
    const after = new CustomerKeyAuthentication('new-key', 'visitor-42');
    expect(after.customerKey).toBe(before.customerKey);
    expect(after.token).not.toBe(before.token);
    expect(CustomerKeyAuthentication.customerKeyFor('visitor-42')).toBe(before.customerKey);
  });

  it('hashes and signs UTF-8', () => {
    const auth = new CustomerKeyAuthentication('nyckel-å', 'besökare-ö');
    const customerKey = createHash('sha256')
      .update(Buffer.from('besökare-ö', 'utf8'))
      .digest('hex');
    expect(auth.customerKey).toBe(customerKey);
    expect(auth.token).toBe(
      createHmac('sha256', Buffer.from('nyckel-å', 'utf8')).update(customerKey).digest('hex'),
    );
  });

  it.each([
    ['', 'user-name', 'privateKey'],
    ['private-key', '', 'visitorId'],
  ])('throws EsalesArgumentError for an empty argument (%j, %j)', (privateKey, visitorId, name) => {
    expect(() => new CustomerKeyAuthentication(privateKey, visitorId)).toThrow(EsalesArgumentError);
    expect(() => new CustomerKeyAuthentication(privateKey, visitorId)).toThrow(name);
  });

  it('keeps the private key out of serialisation', () => {
    const auth = new CustomerKeyAuthentication(VECTOR.privateKey, VECTOR.visitorId);
    expect(JSON.stringify(auth)).not.toContain(VECTOR.privateKey);
    expect(JSON.stringify(new MessageAuthentication(VECTOR.privateKey))).not.toContain(
      VECTOR.privateKey,
    );
  });

  describe('verify', () => {
    it('accepts the token of the customer key', () => {
      expect(
        CustomerKeyAuthentication.verify(VECTOR.privateKey, VECTOR.customerKey, VECTOR.token),
      ).toBe(true);
    });

    it('accepts an upper-case token', () => {
      expect(
        CustomerKeyAuthentication.verify(
          VECTOR.privateKey,
          VECTOR.customerKey,
          VECTOR.token.toUpperCase(),
        ),
      ).toBe(true);
    });

    it.each([
      ['another private key', 'other-key', VECTOR.customerKey, VECTOR.token],
      ['another customer key', VECTOR.privateKey, 'a'.repeat(64), VECTOR.token],
      [
        'a token one digit off',
        VECTOR.privateKey,
        VECTOR.customerKey,
        `${VECTOR.token.slice(0, 63)}1`,
      ],
      ['a short token', VECTOR.privateKey, VECTOR.customerKey, VECTOR.token.slice(0, 62)],
      ['a non-hex token', VECTOR.privateKey, VECTOR.customerKey, 'z'.repeat(64)],
      ['an empty token', VECTOR.privateKey, VECTOR.customerKey, ''],
      ['an empty customer key', VECTOR.privateKey, '', VECTOR.token],
    ])('rejects %s', (_case, privateKey, customerKey, token) => {
      expect(CustomerKeyAuthentication.verify(privateKey, customerKey, token)).toBe(false);
    });

    it('throws for an empty private key rather than verifying against nothing', () => {
      expect(() => CustomerKeyAuthentication.verify('', VECTOR.customerKey, VECTOR.token)).toThrow(
        EsalesArgumentError,
      );
    });
  });

  it('tells signed-in customer keys from anonymous UUIDs', () => {
    expect(CustomerKeyAuthentication.isSignedInCustomerKey(VECTOR.customerKey)).toBe(true);
    expect(
      CustomerKeyAuthentication.isSignedInCustomerKey('d9528030-509c-4e0f-b585-7168f1e9feca'),
    ).toBe(false);
  });
});

describe('MessageAuthentication', () => {
  it('signs as lowercase hex HMAC-SHA256', () => {
    expect(new MessageAuthentication(VECTOR.privateKey).sign(VECTOR.customerKey)).toBe(
      VECTOR.token,
    );
  });

  it('throws EsalesArgumentError for an empty key or message', () => {
    expect(() => new MessageAuthentication('')).toThrow(EsalesArgumentError);
    expect(() => new MessageAuthentication('k').sign('')).toThrow(EsalesArgumentError);
  });
});
