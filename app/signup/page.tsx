import { Suspense } from 'react';
import { AuthForm } from '../_components/auth-form';

export const metadata = { title: 'Sign up' };

export default function SignUpPage() {
  return (
    <Suspense>
      <AuthForm mode="signUp" />
    </Suspense>
  );
}
