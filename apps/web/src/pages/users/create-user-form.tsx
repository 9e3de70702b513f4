import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useForm, useWatch } from 'react-hook-form';

import { api, unwrap } from '../../api/client';
import { useSignedIn } from '../../auth/session';
import { ErrorNotice } from '../../ui/error-notice';
import { ROLE_HINTS, rolesWithin } from './roles';
import { type UserRole, type UserWithPassword } from './users-types';

interface NewUser {
  username: string;
  role: UserRole;
  displayName: string;
  email: string;
  choosePassword: boolean;
  password: string;
  passwordMustChange: boolean;
}

/** A new user; without a chosen password the api generates a one-time one, shown once by the page. */
export function CreateUserForm({ onCreated }: { onCreated: (created: UserWithPassword) => void }) {
  const me = useSignedIn();
  const client = useQueryClient();
  const roles = rolesWithin(me.role);
  const form = useForm<NewUser>({
    defaultValues: { role: 'viewer', choosePassword: false, passwordMustChange: true },
  });
  const choosePassword = useWatch({ control: form.control, name: 'choosePassword' });
  const create = useMutation({
    mutationFn: (values: NewUser) =>
      unwrap(
        api.POST('/api/v1/users', {
          body: {
            username: values.username.trim(),
            role: values.role,
            ...(values.displayName.trim() === '' ? {} : { displayName: values.displayName.trim() }),
            ...(values.email.trim() === '' ? {} : { email: values.email.trim() }),
            ...(values.choosePassword
              ? { password: values.password, passwordMustChange: values.passwordMustChange }
              : {}),
          },
        }),
      ),
    onSuccess: async (created) => {
      onCreated(created);
      await client.invalidateQueries({ queryKey: ['users'] });
    },
  });
  const errors = form.formState.errors;

  return (
    <section className="panel" aria-labelledby="new-user-title">
      <h2 id="new-user-title">New user</h2>
      <form
        className="form"
        noValidate
        onSubmit={(event) => void form.handleSubmit((v) => create.mutate(v))(event)}
      >
        <label>
          Username
          <input
            autoComplete="off"
            autoCapitalize="none"
            spellCheck={false}
            {...form.register('username', { required: true, pattern: /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/ })}
            aria-invalid={errors.username !== undefined}
            aria-describedby="new-username-hint"
          />
        </label>
        <p id="new-username-hint" className="subtle">
          1–64 of a–z, 0–9, dot, underscore or hyphen, starting with a letter or digit.
        </p>
        <label>
          Role
          <select {...form.register('role', { required: true })}>
            {roles.map((role) => (
              <option key={role} value={role}>
                {role} ({ROLE_HINTS[role]})
              </option>
            ))}
          </select>
        </label>
        <div className="form-row">
          <label>
            Display name (optional)
            <input autoComplete="off" {...form.register('displayName')} />
          </label>
          <label>
            Email (optional)
            <input type="email" autoComplete="off" {...form.register('email')} />
          </label>
        </div>
        <label className="checkbox">
          <input type="checkbox" {...form.register('choosePassword')} /> Set the password myself (otherwise a
          one-time password is generated and shown once)
        </label>
        {choosePassword && (
          <>
            <label>
              Password (at least 12 characters)
              <input
                type="password"
                autoComplete="new-password"
                {...form.register('password', { required: true, minLength: 12 })}
                aria-invalid={errors.password !== undefined}
              />
            </label>
            <label className="checkbox">
              <input type="checkbox" {...form.register('passwordMustChange')} /> Must be changed at first
              sign-in
            </label>
          </>
        )}
        {create.error !== null && <ErrorNotice error={create.error} title="Not created" />}
        <div>
          <button type="submit" className="button-primary" disabled={create.isPending}>
            {create.isPending ? 'Creating…' : 'Create user'}
          </button>
        </div>
      </form>
    </section>
  );
}
