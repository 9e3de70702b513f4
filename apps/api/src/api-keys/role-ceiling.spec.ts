import { cappedRole, roleWithin } from './role-ceiling';

describe('role ceiling', () => {
  it.each([
    ['admin', 'admin', true],
    ['operator', 'admin', true],
    ['viewer', 'admin', true],
    ['pro', 'admin', true],
    ['operator', 'operator', true],
    ['viewer', 'operator', true],
    ['admin', 'operator', false],
    ['pro', 'operator', false],
    ['viewer', 'viewer', true],
    ['operator', 'viewer', false],
    ['pro', 'viewer', false],
    ['pro', 'pro', true],
    ['viewer', 'pro', false],
    ['operator', 'pro', false],
    ['admin', 'pro', false],
  ] as const)('%s within %s: %s', (role, ceiling, within) => {
    expect(roleWithin(role, ceiling)).toBe(within);
  });

  it.each([
    ['admin', 'admin', 'admin'],
    ['admin', 'operator', 'operator'],
    ['operator', 'viewer', 'viewer'],
    ['viewer', 'admin', 'viewer'],
    ['pro', 'admin', 'pro'],
    ['admin', 'pro', 'pro'],
    ['pro', 'operator', null],
    ['operator', 'pro', null],
    ['viewer', 'pro', null],
  ] as const)('a %s key of a %s acts as %s', (keyRole, ownerRole, acting) => {
    expect(cappedRole(keyRole, ownerRole)).toBe(acting);
  });
});
