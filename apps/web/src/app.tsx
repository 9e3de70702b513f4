import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider } from 'react-router';

import { isApiError } from './api/api-error';
import { LiveEventsProvider } from './live/live-events';
import { router } from './routes';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      // A 4xx will not change by asking again; a network blip or a 5xx might.
      retry: (failures, error) => failures < 2 && !(isApiError(error) && error.status < 500),
    },
  },
});

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <LiveEventsProvider>
        <RouterProvider router={router} />
      </LiveEventsProvider>
    </QueryClientProvider>
  );
}
